#version 330 core
// Semi-planar Y'CbCr (nv12, nv21, p010, ...): a Y plane and an interleaved chroma plane.
// u_matrix, u_offset and u_cscale as in yuv_planar.frag (nv21's Cr first is in the matrix).
uniform sampler2D u_y;
uniform sampler2D u_uv;
uniform mat3 u_matrix;
uniform vec3 u_offset;
uniform vec2 u_cscale;
in vec2 v_tc;
out vec4 frag_color;

void main()
{
    vec3 yuv = vec3(texture(u_y, v_tc).r, texture(u_uv, v_tc * u_cscale).rg);
    frag_color = vec4(clamp(u_matrix * yuv + u_offset, 0.0, 1.0), 1.0);
}
