package dev.kiln.sampler.render;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.model.job.JobSpecParser;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Which of a request's step and epoch names the file, as sd-scripts' sample_images is called. */
class SampleKeysTest {
    private static final Instant TIME = Instant.parse("2026-07-08T09:10:11Z");

    private static SampleKeys keys(String arguments) {
        return new SampleKeys(JobSpecParser.parse("pretrained_model_name_or_path = \"models/m.safetensors\"\n"
                + arguments + "[[datasets]]\nresolution = 64\n  [[datasets.subsets]]\n"
                + "  image_dir = \"datasets/d/1_x\"\n", "jobs/j/job.toml", "j"));
    }

    @Test
    void stepScheduleNamesByStep() {
        SampleKeys keys = keys("output_name = \"cat\"\nsample_every_n_steps = 50\n");
        assertEquals("outputs/j/samples/cat_000100_01_20260708091011.png", keys.key(100, 3, 1, TIME, null));
        assertEquals("outputs/j/samples/cat_e000000_00_20260708091011_42.png", keys.key(0, 0, 0, TIME, 42L));
    }

    @Test
    void epochScheduleNamesByEpochAndSampleNowByStep() {
        SampleKeys keys = keys("output_name = \"cat\"\nsample_every_n_epochs = 2\n");
        assertEquals("outputs/j/samples/cat_e000004_00_20260708091011.png", keys.key(80, 4, 0, TIME, null));
        // an epoch the schedule does not sample at, or a step mid-epoch: sample-now, named by step
        assertEquals("outputs/j/samples/cat_000070_00_20260708091011.png", keys.key(70, 3, 0, TIME, null));
    }

    @Test
    void noOutputNameHasNoPrefix() {
        SampleKeys keys = keys("");
        assertEquals("outputs/j/samples/000003_00_20260708091011.png", keys.key(3, 1, 0, TIME, null));
    }
}
