#version 330 core
// A flat colour (slate background, label and badge boxes); alpha-blended.
uniform vec4 u_color;
out vec4 frag_color;

void main()
{
    frag_color = u_color;
}
