package dev.kiln.model.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class TopicsTest {

    @Test
    void everyTopicOfTheContractIsListedOnceInPipelineOrder() {
        // The topic table of ARCHITECTURE §3.
        assertEquals(List.of("kiln.storage.events", "kiln.images.accepted", "kiln.images.rejected",
                "kiln.images.captioned", "kiln.jobs.submitted", "kiln.jobs.planned", "kiln.latents.tasks",
                "kiln.latents.cached",
                "kiln.training.control", "kiln.samples.requested", "kiln.training.progress"), Topics.ALL);
    }

    @Test
    void ceTypeIsTheTopicWithVersionSuffix() {
        assertEquals("kiln.images.accepted.v1", Topics.byName(Topics.IMAGES_ACCEPTED).orElseThrow().ceType());
        assertEquals("kiln.training.progress.v1", Topics.ceTypeOf(Topics.TRAINING_PROGRESS));
        assertEquals(Topics.TRAINING_CONTROL, Topics.byCeType("kiln.training.control.v1").orElseThrow().name());
        assertEquals(Topics.JOBS_PLANNED, Topics.byNameOrCeType("kiln.jobs.planned").orElseThrow().name());
        assertTrue(Topics.byNameOrCeType("kiln.jobs.planned.v2").isEmpty());
    }

    @Test
    void nothingIsCompactedAndHighVolumeTopicsHaveMorePartitions() {
        for (TopicSpec spec : Topics.SPECS) {
            assertFalse(spec.compacted(), spec.name());
            assertEquals("delete", spec.cleanupPolicy());
        }
        TopicSpec storage = Topics.byName(Topics.STORAGE_EVENTS).orElseThrow();
        TopicSpec progress = Topics.byName(Topics.TRAINING_PROGRESS).orElseThrow();
        assertTrue(storage.partitions() > progress.partitions());
        assertEquals("bucket/key", storage.recordKey());
        assertEquals("dataset", Topics.byName(Topics.IMAGES_REJECTED).orElseThrow().recordKey());
        assertEquals("job id", progress.recordKey());
        assertEquals("image sha256", Topics.byName(Topics.LATENTS_TASKS).orElseThrow().recordKey());
        assertEquals(6, Topics.byName(Topics.LATENTS_TASKS).orElseThrow().partitions());
    }

    @Test
    void sourcesAreKilnServicePaths() {
        assertEquals(URI.create("/kiln/ingestion"), CloudEventSources.INGESTION);
        assertEquals("/kiln/latent-cache", CloudEventSources.LATENT_CACHE.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CloudEventSources.of("Bad Name"));
        assertTrue(e.getMessage().contains("Bad Name"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new TopicSpec("t", 0, false, "k", "t.v1"));
    }
}
