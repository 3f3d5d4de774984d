package dev.kiln.diffusion.golden;

/**
 * One family of golden checks (text encoder, UNet, VAE, scheduler, sampling, LoRA ...) run by
 * {@link GoldenConformanceTest} for every config folder.
 *
 * <p>To add a group: implement this interface in a test class whose simple name ends in {@code GoldenChecks}, with a
 * public no-argument constructor, anywhere under {@code dev.kiln.diffusion}; the harness finds it on the test class
 * path. Report every golden tensor through {@link GoldenResults}: compared ones with {@code check}, tensors used only as
 * inputs with {@code input}.
 */
public interface GoldenCheckGroup {

    /** Short name used in the report, e.g. {@code text_encoder}. */
    String name();

    /**
     * Runs the group's checks on one config. An exception counts as one failed check of this group (a model the code
     * cannot load is a failure, never a skip).
     */
    void check(GoldenConfig config, GoldenResults results) throws Exception;
}
