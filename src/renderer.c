typedef int vw_placeholder_renderer;
