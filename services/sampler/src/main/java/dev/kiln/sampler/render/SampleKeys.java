package dev.kiln.sampler.render;

import dev.kiln.diffusion.train.save.SampleSchedule;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.keys.ObjectKeys;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * Object keys of sample images: {@code outputs/<job>/samples/} plus sd-scripts' file name
 * ({@link SampleSchedule#fileName}: {@code <output_name>_<e<epoch:06d>|<step:06d>>_<idx:02d>_<yyyyMMddHHmmss>[_<seed>].png}).
 *
 * <p>A request carries both its step and its epoch; which one names the file follows sd-scripts' schedule: step 0 is
 * the before-training call ({@code e000000}), a step that {@code sample_every_n_steps} samples at uses the step, an
 * epoch end that {@code sample_every_n_epochs} samples at uses the epoch, and anything else ({@code sample-now}) the
 * step, as {@code kiln train} names it. The time is the request's (its CloudEvent time), in UTC, so a redelivered
 * request writes the same keys again instead of new ones.
 */
public final class SampleKeys {
    private final String job;
    private final String outputName;
    private final SampleSchedule schedule;

    public SampleKeys(JobSpec spec) {
        this.job = spec.name();
        this.outputName = spec.stringArgument("output_name");
        this.schedule = SampleSchedule.of(spec);
    }

    /** The epoch argument sd-scripts' sample_images would have been called with, or null for a step sample. */
    Integer epochArgument(long step, int epoch) {
        if (step == 0) {
            return 0;
        }
        if (schedule.afterStep(step)) {
            return null;
        }
        return schedule.afterEpoch(epoch, step) ? epoch : null;
    }

    /** The key of prompt {@code index}'s image. */
    public String key(long step, int epoch, int index, Instant requestTime, Long givenSeed) {
        String name = SampleSchedule.fileName(outputName, epochArgument(step, epoch), step, index,
                LocalDateTime.ofInstant(requestTime, ZoneOffset.UTC), givenSeed);
        return ObjectKeys.requireSafe(ObjectKeys.outputPrefix(job) + "samples/" + name);
    }
}
