#version 330 core
// Semi-planar Y'CbCr 4:2:0 (nv12, p010): a Y plane and an interleaved CbCr plane.
// u_matrix and u_offset as in yuv_planar.frag.
uniform sampler2D u_y;
uniform sampler2D u_uv;
uniform mat3 u_matrix;
uniform vec3 u_offset;
in vec2 v_tc;
out vec4 frag_color;

void main()
{
    vec3 yuv = vec3(texture(u_y, v_tc).r, texture(u_uv, v_tc).rg);
    frag_color = vec4(clamp(u_matrix * yuv + u_offset, 0.0, 1.0), 1.0);
}
