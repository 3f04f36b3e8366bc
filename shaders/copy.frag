#version 330 core
// A finished composition onto the window: one texel per pixel, no blending.
uniform sampler2D u_tex;
in vec2 v_tc;
out vec4 frag_color;

void main()
{
    frag_color = texture(u_tex, v_tc);
}
