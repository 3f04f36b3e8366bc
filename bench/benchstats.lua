-- mpv script for scripts/bench.sh: quits `duration` wall seconds after mpv loaded it
-- and writes one JSON line with how much video played and mpv's drop counters.
--   --script=bench/benchstats.lua --script-opts=benchstats-duration=30,benchstats-out=FILE
local opts = {duration = 10, out = ""}
require("mp.options").read_options(opts, "benchstats")

local t0 = mp.get_time()
-- playback-time goes back to 0 at every loop: add up what each pass played.
local played, last = 0, 0
local function sample()
    local t = mp.get_property_number("playback-time")
    if t then
        if t + 0.5 < last then played = played + last end
        last = t
    end
end
mp.add_periodic_timer(0.05, sample)

local function num(name)
    return mp.get_property_number(name, 0) or 0
end

mp.add_timeout(opts.duration, function()
    sample()
    local line = string.format(
        '{"wall_s": %.3f, "video_s": %.3f, "frame_drop_count": %d, "decoder_frame_drop_count": %d, ' ..
        '"vo_delayed_frame_count": %d, "mistimed_frame_count": %d, "fps": %.3f}\n',
        mp.get_time() - t0, played + last, num("frame-drop-count"), num("decoder-frame-drop-count"),
        num("vo-delayed-frame-count"), num("mistimed-frame-count"), num("estimated-vf-fps"))
    if opts.out ~= "" then
        local f = io.open(opts.out, "w")
        f:write(line)
        f:close()
    else
        io.write(line)
    end
    mp.command("quit")
end)
