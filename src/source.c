typedef int vw_placeholder_source;
