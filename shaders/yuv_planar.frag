#version 330 core
// Planar pictures (Y'CbCr 4:2:0, 4:2:2, 4:4:4, ..., gray, planar RGB; 8 or 16 bits per sample).
// u_matrix and u_offset fold the sample scale, the range (limited/full), the matrix
// (BT.601/BT.709/BT.2020) and the planes' order (gbrp: G, B, R) together; the renderer
// computes them. Gray binds the Y plane to all three units with zero chroma columns.
// u_cscale: chroma texture coordinates per luma ones (below 1 for an odd size, whose last
// chroma sample reaches one luma sample past the picture).
uniform sampler2D u_y;
uniform sampler2D u_u;
uniform sampler2D u_v;
uniform mat3 u_matrix;
uniform vec3 u_offset;
uniform vec2 u_cscale;
in vec2 v_tc;
out vec4 frag_color;

void main()
{
    vec2 ctc = v_tc * u_cscale;
    vec3 yuv = vec3(texture(u_y, v_tc).r, texture(u_u, ctc).r, texture(u_v, ctc).r);
    frag_color = vec4(clamp(u_matrix * yuv + u_offset, 0.0, 1.0), 1.0);
}
