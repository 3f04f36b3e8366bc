typedef int vw_placeholder_label;
