#version 330 core
// One quad per draw, no vertex buffer: gl_VertexID 0..3 as a triangle strip.
// u_rect: the quad in normalized device coordinates (x0, y0 top-left, x1, y1 bottom-right).
// u_tc:   the texture coordinates at those corners (s0, t0, s1, t1); t = 0 is the top row.
// u_orient: turns those coordinates about the texture's centre, for a picture stored on
//         its side (display matrix); the identity for everything else.
uniform vec4 u_rect;
uniform vec4 u_tc;
uniform mat2 u_orient;
out vec2 v_tc;

void main()
{
    vec2 c = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
    gl_Position = vec4(mix(u_rect.xy, u_rect.zw, c), 0.0, 1.0);
    v_tc = u_orient * (mix(u_tc.xy, u_tc.zw, c) - 0.5) + 0.5;
}
