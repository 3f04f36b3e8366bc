#version 330 core
// Rendered text: the texture's alpha is the glyph coverage, tinted with u_color.
uniform sampler2D u_tex;
uniform vec4 u_color;
in vec2 v_tc;
out vec4 frag_color;

void main()
{
    frag_color = vec4(u_color.rgb, u_color.a * texture(u_tex, v_tc).a);
}
