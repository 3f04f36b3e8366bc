typedef int vw_placeholder_png;
