#version 330 core
// Packed pictures, all components in one texture (rgb24, bgra, argb, rgb48, vuya, ...):
// the texture's swizzle brings them to .rgb in the order R, G, B (or Y, Cb, Cr), and
// u_matrix and u_offset convert them as in yuv_planar.frag (the identity for RGB).
uniform sampler2D u_y;
uniform mat3 u_matrix;
uniform vec3 u_offset;
in vec2 v_tc;
out vec4 frag_color;

void main()
{
    frag_color = vec4(clamp(u_matrix * texture(u_y, v_tc).rgb + u_offset, 0.0, 1.0), 1.0);
}
