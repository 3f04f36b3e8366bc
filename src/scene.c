typedef int vw_placeholder_scene;
