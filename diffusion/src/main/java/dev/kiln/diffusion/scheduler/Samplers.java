package dev.kiln.diffusion.scheduler;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The samplers available for image generation, under sd-scripts' {@code --sample_sampler} names
 * ({@code train_util.py get_my_scheduler}). Unlike sd-scripts, which silently falls back to DDIM, an unknown
 * name is rejected with the list of supported ones.
 */
public final class Samplers {

    /** Builds a sampler from a name, the noise schedule and the step count. */
    @FunctionalInterface
    private interface Factory {
        Sampler create(String name, NoiseSchedule schedule, int steps);
    }

    /** sd-scripts' default {@code --sample_sampler}. */
    public static final String SD_SCRIPTS_DEFAULT = "ddim";

    private static final Map<String, Factory> FACTORIES = new LinkedHashMap<>();

    static {
        FACTORIES.put("ddim", DdimSampler::new);
        FACTORIES.put("euler", (n, s, k) -> new EulerSampler(n, s, k, false));
        FACTORIES.put("k_euler", (n, s, k) -> new EulerSampler(n, s, k, false));
        FACTORIES.put("euler_a", (n, s, k) -> new EulerSampler(n, s, k, true));
        FACTORIES.put("k_euler_a", (n, s, k) -> new EulerSampler(n, s, k, true));
        FACTORIES.put("lms", LmsSampler::new);
        FACTORIES.put("k_lms", LmsSampler::new);
        FACTORIES.put("dpmsolver++", (n, s, k) -> new DpmSolverMultistepSampler(n, s, k, false));
        // not an sd-scripts name: DPM++ 2M on Karras sigmas (A1111's "DPM++ 2M Karras")
        FACTORIES.put("dpmsolver++_karras", (n, s, k) -> new DpmSolverMultistepSampler(n, s, k, true));
    }

    private Samplers() {
    }

    /** Every accepted name, in a stable order. */
    public static List<String> names() {
        return List.copyOf(FACTORIES.keySet());
    }

    /** Whether {@code name} (case-insensitive) is a supported sampler. */
    public static boolean isSupported(String name) {
        return name != null && FACTORIES.containsKey(name.trim().toLowerCase(Locale.ROOT));
    }

    /**
     * A sampler for one run.
     *
     * @param name   sd-scripts sampler name, case-insensitive (e.g. {@code euler_a})
     * @param config the schedule; {@link SchedulerConfig#kohya(boolean)} reproduces sd-scripts' sample images
     * @param steps  number of inference steps
     * @throws IllegalArgumentException for an unknown name (listing the supported ones) or a bad step count
     */
    public static Sampler create(String name, SchedulerConfig config, int steps) {
        return create(name, NoiseSchedule.of(config), steps);
    }

    /** As {@link #create(String, SchedulerConfig, int)}, reusing already computed tables. */
    public static Sampler create(String name, NoiseSchedule schedule, int steps) {
        String key = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        Factory factory = FACTORIES.get(key);
        if (factory == null) {
            throw new IllegalArgumentException("unknown sampler '" + name + "'; supported: "
                    + String.join(", ", FACTORIES.keySet()));
        }
        return factory.create(key, schedule, steps);
    }
}
