package dev.kiln.diffusion.sampling;

/** Called after every sampling step: progress bars, previews, tests. */
@FunctionalInterface
public interface StepListener {

    /** Ignores every step. */
    StepListener NONE = trace -> { };

    void onStep(StepTrace trace);
}
