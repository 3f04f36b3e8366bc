typedef int vw_placeholder_control;
