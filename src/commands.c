typedef int vw_placeholder_commands;
