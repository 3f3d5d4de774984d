package dev.kiln.diffusion.train.schedule;

import java.util.List;
import java.util.Locale;

/**
 * sd-scripts' {@code --lr_scheduler} schedules (transformers' formulas), with {@code --lr_warmup_steps},
 * {@code --lr_scheduler_num_cycles} and {@code --lr_scheduler_power}. With s completed updates, w warmup steps and T
 * total steps, every schedule except {@code constant} ramps as {@code s / max(1, w)} while {@code s < w}; then
 * constant_with_warmup: 1; linear: {@code max(0, (T - s) / max(1, T - w))}; cosine: {@code 0.5(1 + cos(π p))};
 * cosine_with_restarts: {@code 0.5(1 + cos(π ((cycles·p) mod 1)))}, 0 from p ≥ 1; polynomial:
 * {@code ((lr0 - lr_end)(1 - p)^power + lr_end) / lr0} with lr_end 1e-7, {@code lr_end / lr0} after T;
 * where {@code p = (s - w) / max(1, T - w)}.
 */
public final class LrSchedules {

    /** The lr_scheduler names accepted. */
    public static final List<String> SUPPORTED = List.of("constant", "constant_with_warmup", "linear", "cosine",
            "cosine_with_restarts", "polynomial");

    /** transformers' polynomial schedule ends at this learning rate. */
    public static final double POLYNOMIAL_LR_END = 1e-7;

    private LrSchedules() {
    }

    /**
     * Creates a schedule.
     *
     * @param name         lr_scheduler, e.g. {@code cosine_with_restarts}; {@code adafactor[:lr]} is constant
     *                     (the AdaFactor optimizer then computes its own step sizes)
     * @param warmupSteps  resolved warmup steps (see {@link #warmupSteps})
     * @param totalSteps   max_train_steps × processes
     * @param numCycles    lr_scheduler_num_cycles (cosine_with_restarts)
     * @param power        lr_scheduler_power (polynomial)
     * @param baseLr       learning_rate, the optimizer default the polynomial schedule decays from
     */
    public static LrSchedule create(String name, long warmupSteps, long totalSteps, int numCycles, double power,
                                    double baseLr) {
        String n = name == null || name.isBlank() ? "constant" : name.trim().toLowerCase(Locale.ROOT);
        if (warmupSteps < 0 || totalSteps < 0) {
            throw new IllegalArgumentException("lr_warmup_steps and max_train_steps must not be negative");
        }
        if (n.equals("adafactor") || n.startsWith("adafactor:")) {
            return step -> 1.0;
        }
        if (n.equals("constant")) {
            if (warmupSteps != 0) {
                throw new IllegalArgumentException("lr_scheduler constant does not use lr_warmup_steps ("
                        + warmupSteps + "); set it to 0 or use constant_with_warmup");
            }
            return step -> 1.0;
        }
        double w = warmupSteps;
        double t = totalSteps;
        LrSchedule afterWarmup = switch (n) {
            case "constant_with_warmup" -> step -> 1.0;
            case "linear" -> step -> Math.max(0.0, (t - step) / Math.max(1.0, t - w));
            case "cosine" -> step -> Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress(step, w, t))));
            case "cosine_with_restarts" -> {
                if (numCycles < 1) {
                    throw new IllegalArgumentException("lr_scheduler_num_cycles " + numCycles + " must be at least 1");
                }
                yield step -> {
                    double p = progress(step, w, t);
                    return p >= 1.0 ? 0.0 : Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * ((numCycles * p) % 1.0))));
                };
            }
            case "polynomial" -> {
                if (!(baseLr > POLYNOMIAL_LR_END)) {
                    throw new IllegalArgumentException("learning_rate " + baseLr + " must be above the polynomial"
                            + " schedule's end " + POLYNOMIAL_LR_END);
                }
                yield step -> {
                    if (step > t) {
                        return POLYNOMIAL_LR_END / baseLr;
                    }
                    double remaining = 1 - (step - w) / (t - w);
                    return ((baseLr - POLYNOMIAL_LR_END) * Math.pow(remaining, power) + POLYNOMIAL_LR_END) / baseLr;
                };
            }
            default -> throw new IllegalArgumentException("lr_scheduler '" + name + "' is not supported by Kiln;"
                    + " supported: " + String.join(", ", SUPPORTED));
        };
        return step -> step < w ? step / Math.max(1.0, w) : afterWarmup.factor(step);
    }

    private static double progress(long step, double warmup, double total) {
        return (step - warmup) / Math.max(1.0, total - warmup);
    }

    /**
     * sd-scripts' {@code --lr_warmup_steps}: {@code "10%"} or a number below 1 is a ratio of {@code totalSteps}
     * ({@code int(ratio·T)}); a number from 1 up must be an integer step count.
     */
    public static long warmupSteps(String value, long totalSteps) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        String v = value.trim();
        double ratio;
        try {
            if (v.endsWith("%")) {
                ratio = Double.parseDouble(v.substring(0, v.length() - 1).trim()) / 100.0;
            } else {
                double number = Double.parseDouble(v);
                if (number >= 1) {
                    return Long.parseLong(v);
                }
                ratio = number;
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("lr_warmup_steps '" + value
                    + "' is not a step count, a ratio below 1 or a percentage");
        }
        if (ratio < 0 || ratio > 1) {
            throw new IllegalArgumentException("lr_warmup_steps '" + value + "' must be a ratio between 0 and 1");
        }
        return (long) (ratio * totalSteps);
    }
}
