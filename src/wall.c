typedef int vw_placeholder_wall;
