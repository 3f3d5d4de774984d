package dev.kiln.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The demo's job.toml is one the services accept, with the schedule the demo waits for. */
class DemoJobTest {

    @Test
    void theDemoJobParsesWithItsSchedule() {
        DemoJob demo = DemoJob.of("demo-1", 120, 60);
        JobSpec spec = JobSpecParser.parse(demo.toml(""), "job.toml", demo.name());
        assertEquals(120L, spec.intArgument("max_train_steps", 0));
        assertEquals(60L, spec.intArgument("sample_every_n_steps", 0));
        assertEquals(demo.modelKey(), spec.pretrainedModel());
        assertEquals(demo.prompts(), spec.samplePrompts());
        assertEquals(List.of(demo.imageDir()), spec.dataset().explicitDatasets().get(0).subsets().stream()
                .map(s -> s.imageDir()).toList());
        assertEquals(4, demo.expectedSamples(), "two prompts at steps 60 and 120");
    }

    @Test
    void withoutASampleScheduleTheJobNeitherSavesNorSamplesOnTheWay() {
        JobSpec spec = JobSpecParser.parse(DemoJob.of("demo-2", 40, 0).toml("noise_offset = 0.05\n"), "job.toml",
                "demo-2");
        assertEquals(null, spec.argument("sample_every_n_steps"));
        assertEquals(null, spec.argument("save_every_n_steps"));
        assertEquals(0.05, ((Number) spec.argument("noise_offset")).doubleValue());
    }
}
