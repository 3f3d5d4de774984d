package dev.kiln.diffusion.train.schedule;

/**
 * A learning-rate schedule as a factor of each group's base learning rate after {@code step} completed optimizer
 * updates (torch {@code LambdaLR}: the first update uses the factor at step 0).
 */
@FunctionalInterface
public interface LrSchedule {

    /** The multiplier of the base learning rate at {@code step}. */
    double factor(long step);

    /** {@code baseLr · factor(step)}. */
    default double lr(double baseLr, long step) {
        return baseLr * factor(step);
    }
}
