typedef int vw_placeholder_config;
