package dev.kiln.diffusion.train.save;

import dev.kiln.model.job.JobSpec;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * When sd-scripts renders sample images (§10, train_util.py sample_images_common) and how it names them. The trainer
 * asks at three points, with sd-scripts' arguments: before training ({@code epoch = 0, steps = 0}), after every
 * optimizer step ({@code epoch = null}) and after every epoch ({@code epoch = e}, 1-based, with the current step).
 *
 * @param atFirst sample_at_first
 * @param everyNSteps sample_every_n_steps, or null
 * @param everyNEpochs sample_every_n_epochs, or null; when set, sample_every_n_steps is ignored
 */
public record SampleSchedule(boolean atFirst, Long everyNSteps, Long everyNEpochs) {
    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyyMMddHHmmss");

    public SampleSchedule {
        // verify_training_args: a value <= 0 disables the option (with a warning)
        everyNSteps = everyNSteps != null && everyNSteps > 0 ? everyNSteps : null;
        everyNEpochs = everyNEpochs != null && everyNEpochs > 0 ? everyNEpochs : null;
    }

    public static SampleSchedule of(JobSpec job) {
        return new SampleSchedule(job.flag("sample_at_first"), (Long) job.argument("sample_every_n_steps"),
                (Long) job.argument("sample_every_n_epochs"));
    }

    /** sd-scripts' test, called with its arguments ({@code epoch} null after a step). */
    public boolean shouldSample(Integer epoch, long steps) {
        if (steps == 0) {
            return atFirst;
        }
        if (everyNSteps == null && everyNEpochs == null) {
            return false;
        }
        if (everyNEpochs != null) {
            return epoch != null && epoch % everyNEpochs == 0;
        }
        return steps % everyNSteps == 0 && epoch == null;
    }

    /** Before the first step. */
    public boolean atStart() {
        return shouldSample(0, 0);
    }

    /** After optimizer step {@code steps}. */
    public boolean afterStep(long steps) {
        return shouldSample(null, steps);
    }

    /** After epoch {@code epoch} (1-based), at step {@code steps}. */
    public boolean afterEpoch(int epoch, long steps) {
        return shouldSample(epoch, steps);
    }

    /**
     * The image file name under {@code <output_dir>/sample/}:
     * {@code <output_name>_<num>_<idx:02d>_<yyyyMMddHHmmss>[_<seed>].png} where num is {@code e<epoch:06d>} for the
     * before-training and epoch-end calls and {@code <steps:06d>} after a step; without output_name there is no
     * prefix.
     *
     * @param epoch the epoch argument of the call (0 before training), or null after a step
     * @param promptIndex the prompt's index in the prompt list
     * @param time local time of the rendering
     * @param seed the prompt's seed ({@code --d}), or null when none was given
     */
    public static String fileName(String outputName, Integer epoch, long steps, int promptIndex, LocalDateTime time,
            Long seed) {
        String prefix = outputName == null ? "" : outputName + "_";
        String num = epoch != null ? String.format(Locale.ROOT, "e%06d", epoch)
                : String.format(Locale.ROOT, "%06d", steps);
        String seedSuffix = seed == null ? "" : "_" + seed;
        return prefix + num + "_" + String.format(Locale.ROOT, "%02d", promptIndex) + "_" + TIMESTAMP.format(time)
                + seedSuffix + ".png";
    }
}
