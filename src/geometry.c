typedef int vw_placeholder_geometry;
