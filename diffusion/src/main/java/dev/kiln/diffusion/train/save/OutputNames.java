package dev.kiln.diffusion.train.save;

import java.util.Locale;

/**
 * sd-scripts' output file and folder names (train_util.py get_epoch_ckpt_name, get_step_ckpt_name,
 * get_last_ckpt_name and the {@code *_STATE_NAME} patterns), all relative to {@code output_dir}. Without
 * {@code output_name} each kind has its own base name: {@code epoch}, {@code at} (steps) and {@code last}. Only a
 * missing name (null) falls back; an empty one is used as it is, as in sd-scripts. A null extension names a folder
 * (diffusers saves of full fine-tuning).
 */
public final class OutputNames {
    public static final String DEFAULT_EPOCH_NAME = "epoch";
    public static final String DEFAULT_STEP_NAME = "at";
    public static final String DEFAULT_LAST_NAME = "last";
    /** Sample images go to {@code <output_dir>/sample/}. */
    public static final String SAMPLE_DIR = "sample";

    private OutputNames() {}

    /** {@code {name}-{epoch:06d}.{ext}}, e.g. {@code mylora-000003.safetensors}; {@code ext} without the dot. */
    public static String epochModel(String outputName, long epoch, String ext) {
        return epochBase(outputName, epoch) + dotted(ext);
    }

    /** {@code {name}-step{step:08d}.{ext}}, e.g. {@code at-step00000500.safetensors}. */
    public static String stepModel(String outputName, long step, String ext) {
        return stepBase(outputName, step) + dotted(ext);
    }

    /** {@code {name}.{ext}}, e.g. {@code last.safetensors}. */
    public static String finalModel(String outputName, String ext) {
        return orDefault(outputName, DEFAULT_LAST_NAME) + dotted(ext);
    }

    /** {@code {name}-{epoch:06d}-state}. */
    public static String epochState(String outputName, long epoch) {
        return epochBase(outputName, epoch) + "-state";
    }

    /** {@code {name}-step{step:08d}-state}. */
    public static String stepState(String outputName, long step) {
        return stepBase(outputName, step) + "-state";
    }

    /** {@code {name}-state}. */
    public static String finalState(String outputName) {
        return orDefault(outputName, DEFAULT_LAST_NAME) + "-state";
    }

    private static String epochBase(String outputName, long epoch) {
        // Python's {:06d} and Java's %06d agree, also for a negative number ("-00001")
        return orDefault(outputName, DEFAULT_EPOCH_NAME) + "-" + String.format(Locale.ROOT, "%06d", epoch);
    }

    private static String stepBase(String outputName, long step) {
        return orDefault(outputName, DEFAULT_STEP_NAME) + "-step" + String.format(Locale.ROOT, "%08d", step);
    }

    /** ".ext", or nothing for a folder save (diffusers: {@code {name}-step{step:08d}}). */
    private static String dotted(String ext) {
        return ext == null ? "" : "." + ext;
    }

    private static String orDefault(String name, String otherwise) {
        return name != null ? name : otherwise;
    }
}
