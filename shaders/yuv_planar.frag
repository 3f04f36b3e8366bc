#version 330 core
// Planar Y'CbCr (4:2:0, 4:2:2, 4:4:4, gray; 8 or 16 bits per sample) to RGB.
// u_matrix and u_offset fold the sample scale, the range (limited/full) and the matrix
// (BT.601/BT.709/BT.2020) together; the renderer computes them from Kr and Kb.
// Gray binds the Y plane to all three units with zero chroma columns.
uniform sampler2D u_y;
uniform sampler2D u_u;
uniform sampler2D u_v;
uniform mat3 u_matrix;
uniform vec3 u_offset;
in vec2 v_tc;
out vec4 frag_color;

void main()
{
    vec3 yuv = vec3(texture(u_y, v_tc).r, texture(u_u, v_tc).r, texture(u_v, v_tc).r);
    frag_color = vec4(clamp(u_matrix * yuv + u_offset, 0.0, 1.0), 1.0);
}
