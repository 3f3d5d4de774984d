package dev.kiln.diffusion.train.save;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** train_network.py's save/remove schedule (§9.7), read from a parsed job.toml. */
class SaveScheduleTest {

    static JobSpec job(String toml) {
        return JobSpecParser.parse("pretrained_model_name_or_path = \"models/sd15.safetensors\"\n" + toml,
                "job.toml", "cats");
    }

    @Test
    void stepSavesKeepTheLastNStepsAsTheDocumentedExample() {
        SaveSchedule s = SaveSchedule.of(job("save_every_n_steps = 10\nsave_last_n_steps = 30\n"), 5);
        assertTrue(s.shouldSaveAfterStep(10));
        assertFalse(s.shouldSaveAfterStep(15));
        assertEquals(OptionalLong.empty(), s.stepToRemove(10));
        assertEquals(OptionalLong.empty(), s.stepToRemove(30));
        assertEquals(OptionalLong.of(0), s.stepToRemove(40));
        assertEquals(OptionalLong.of(10), s.stepToRemove(50));
        assertEquals(OptionalLong.of(20), s.stepToRemove(60));

        // simulate: the files left after step 100 are the last four saves
        TreeSet<Long> files = new TreeSet<>();
        for (long step = 1; step <= 100; step++) {
            if (s.shouldSaveAfterStep(step)) {
                files.add(step);
                s.stepToRemove(step).ifPresent(files::remove);
            }
        }
        assertEquals(List.of(70L, 80L, 90L, 100L), new ArrayList<>(files));
    }

    @Test
    void epochSavesSkipTheLastEpochAndKeepTheLastN() {
        SaveSchedule s = SaveSchedule.of(job("save_every_n_epochs = 2\nsave_last_n_epochs = 3\n"), 10);
        assertFalse(s.shouldSaveAfterEpoch(1, 10));
        assertTrue(s.shouldSaveAfterEpoch(2, 10));
        assertTrue(s.shouldSaveAfterEpoch(8, 10));
        assertFalse(s.shouldSaveAfterEpoch(10, 10), "the last epoch is only the final file");
        assertEquals(OptionalLong.empty(), s.epochToRemove(4));
        assertEquals(OptionalLong.of(0), s.epochToRemove(6));
        assertEquals(OptionalLong.of(2), s.epochToRemove(8));
        assertFalse(s.shouldSaveStateAfterEpoch(2, 10), "no save_state");
        assertFalse(s.shouldSaveStateAtEnd());
    }

    @Test
    void stateFoldersFollowTheirOwnKeepCountOrTheModelOne() {
        SaveSchedule s = SaveSchedule.of(job("save_every_n_steps = 10\nsave_last_n_steps = 30\n"
                + "save_last_n_steps_state = 10\nsave_state = true\n"), 5);
        assertTrue(s.shouldSaveStateAfterStep(20));
        assertFalse(s.shouldSaveStateAfterStep(25));
        assertTrue(s.shouldSaveStateAtEnd());
        assertEquals(OptionalLong.empty(), s.stepStateToRemove(20), "step 0 is never removed (> 0 rule)");
        assertEquals(OptionalLong.of(10), s.stepStateToRemove(30));
        assertEquals(OptionalLong.of(20), s.stepStateToRemove(40));

        SaveSchedule fallback = SaveSchedule.of(job("save_every_n_steps = 10\nsave_last_n_steps = 30\n"
                + "save_last_n_steps_state = 0\nsave_state = true\n"), 5);
        assertEquals(OptionalLong.empty(), fallback.stepStateToRemove(40), "0 at step 40 is not removed");
        assertEquals(OptionalLong.of(10), fallback.stepStateToRemove(50));

        SaveSchedule epochs = SaveSchedule.of(job("save_every_n_epochs = 1\nsave_last_n_epochs = 5\n"
                + "save_last_n_epochs_state = 2\nsave_state_on_train_end = true\n"), 10);
        assertFalse(epochs.shouldSaveStateAfterEpoch(3, 10), "save_state_on_train_end saves only at the end");
        assertTrue(epochs.shouldSaveStateAtEnd());
        assertEquals(OptionalLong.of(1), epochs.epochStateToRemove(3));
        assertEquals(OptionalLong.of(1), epochs.epochToRemove(6));
    }

    @Test
    void saveNEpochRatioReplacesEveryNEpochs() {
        assertEquals(3L, SaveSchedule.of(job("save_n_epoch_ratio = 3\nsave_every_n_epochs = 7\n"), 10).everyNEpochs());
        assertEquals(1L, SaveSchedule.of(job("save_n_epoch_ratio = 4\n"), 3).everyNEpochs(), "floor 0 -> 1");
        assertEquals(7L, SaveSchedule.of(job("save_n_epoch_ratio = 0\nsave_every_n_epochs = 7\n"), 10).everyNEpochs());
    }

    @Test
    void nothingConfiguredSavesOnlyTheFinalModel() {
        SaveSchedule s = SaveSchedule.of(job(""), 10);
        for (long i = 1; i <= 20; i++) {
            assertFalse(s.shouldSaveAfterStep(i));
            assertFalse(s.shouldSaveAfterEpoch(i, 30));
            assertEquals(OptionalLong.empty(), s.stepToRemove(i));
            assertEquals(OptionalLong.empty(), s.epochToRemove(i));
        }
    }

    @Test
    void valuesSdScriptsWouldCrashOrMisbehaveOnAreRefusedNamingTheKey() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> SaveSchedule.of(job("save_every_n_steps = 0\n"), 1));
        assertEquals("save_every_n_steps", e.key());
        e = assertThrows(ConfigException.class, () -> SaveSchedule.of(job("save_last_n_epochs = 0\n"), 1));
        assertEquals("save_last_n_epochs", e.key());
        e = assertThrows(ConfigException.class, () -> SaveSchedule.of(job("save_last_n_steps_state = -1\n"), 1));
        assertEquals("save_last_n_steps_state", e.key());
    }
}
