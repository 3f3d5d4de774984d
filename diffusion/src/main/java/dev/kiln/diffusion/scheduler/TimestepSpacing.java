package dev.kiln.diffusion.scheduler;

import java.util.Arrays;
import java.util.Locale;

/**
 * How inference timesteps are spread over the training range (diffusers {@code timestep_spacing}, after
 * Table 2 of "Common Diffusion Noise Schedules and Sample Steps are Flawed", arXiv 2305.08891).
 */
public enum TimestepSpacing {
    LINSPACE, LEADING, TRAILING;

    /** Parses a {@code timestep_spacing} value; unknown values are rejected with the accepted list. */
    public static TimestepSpacing fromConfigName(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown timestep_spacing '" + name + "'; expected one of "
                    + Arrays.stream(values()).map(v -> v.name().toLowerCase(Locale.ROOT)).toList());
        }
    }
}
