package dev.kiln.sampler;

import static dev.kiln.sampler.SamplerFixture.WAIT;
import static dev.kiln.sampler.SamplerFixture.valid;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.sampling.ImageGenerator;
import dev.kiln.diffusion.sampling.SamplePrompt;
import dev.kiln.diffusion.sampling.StepListener;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.train.TinyTrainingFixture;
import dev.kiln.model.events.SamplesRequested;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import dev.kiln.service.test.TopicWatcher;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import jakarta.inject.Inject;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The sampler service end to end with real Kafka and S3 and the tiny golden SD 1.5 model (a diffusers folder in the
 * bucket with its letter tokenizer) and the golden kohya LoRA as checkpoint: a request becomes PNGs under
 * {@code outputs/<job>/samples/} with sd-scripts' names and one {@code sample} event each, the images are exactly
 * what the engine renders with that model, LoRA and seed; bad requests are logged and counted and the next request is
 * still served.
 */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class SamplerPipelineTest {

    @InjectKafkaCompanion
    KafkaCompanion companion;

    @Inject
    MeterRegistry registry;

    SamplerFixture fixture;
    final List<String> errors = new CopyOnWriteArrayList<>();
    final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue()) {
                errors.add(String.valueOf(record.getMessage()));
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void fixture() {
        fixture = new SamplerFixture(companion);
        Logger.getLogger("dev.kiln.sampler").addHandler(capture);
    }

    @AfterEach
    void release() {
        Logger.getLogger("dev.kiln.sampler").removeHandler(capture);
    }

    @Test
    void aRequestBecomesPngsWithSdScriptsNamesAndOneSampleEventEach() throws Exception {
        String job = SamplerFixture.uniqueName("circles");
        String model = fixture.putTinyModel(job);
        String checkpoint = fixture.putCheckpoint(job, "tiny-step00000010.safetensors");
        fixture.putJob(job, model, "output_name = \"tiny\"\nsample_every_n_steps = 10\nsample_sampler = \"euler_a\"\n");
        Instant time = Instant.parse("2026-01-02T03:04:05Z");
        String seeded = "s c --w 64 --h 64 --s 3 --d 5";
        String unseeded = "r d --n s --w 80 --h 64 --s 2 --l 5.5 --ss ddim";

        try (TopicWatcher progress = TopicWatcher.watch(companion, Topics.TRAINING_PROGRESS)) {
            fixture.request(new SamplesRequested(job, checkpoint, List.of(seeded, unseeded), 10, 1), time);
            List<ConsumerRecord<String, String>> records = progress.awaitCount(r -> job.equals(r.key()), 2, WAIT);

            String samples = "outputs/" + job + "/samples/";
            // sd-scripts: <output_name>_<step:06d>_<idx:02d>_<yyyyMMddHHmmss>[_<seed>].png; the time is the request's
            List<String> keys = List.of(samples + "tiny_000010_00_20260102030405_5.png",
                    samples + "tiny_000010_01_20260102030405.png");
            for (int i = 0; i < 2; i++) {
                JsonNode event = valid(records.get(i));
                assertEquals("sample", event.path("type").asText());
                assertEquals("sampling", event.path("stage").asText());
                assertEquals(10, event.path("step").asLong());
                assertEquals(1, event.path("epoch").asInt());
                assertEquals("s3://" + fixture.bucket() + "/" + keys.get(i), event.path("artifact").asText());
                assertTrue(event.path("message").asText().startsWith("prompt " + (i + 1) + "/2"),
                        event.path("message").asText());
            }
            BufferedImage first = png(keys.get(0));
            BufferedImage second = png(keys.get(1));
            assertEquals(64, first.getWidth());
            assertEquals(64, first.getHeight());
            assertEquals(80, second.getWidth());
            assertEquals(64, second.getHeight());

            // the stored image is the engine's own rendering with the base model, the checkpoint LoRA and --d 5
            try (NDManager manager = NDManager.newBaseManager()) {
                StableDiffusionModel tiny = StableDiffusionLoader.load(TinyTrainingFixture.tinySd15(), manager);
                ClipTokenizer letters = ClipTokenizer.fromFolder(
                        TinyTrainingFixture.writeTokenizer(Files.createTempDirectory("letters")));
                LoraNetwork lora = LoraNetwork.load(SamplerFixture.GOLDEN_LORA, manager);
                SamplePrompt prompt = new SamplePrompt("s c", null, 64, 64, 5L, 3, 7.5f, "euler_a");
                BufferedImage withLora = new ImageGenerator(tiny, letters,
                        List.of(new ImageGenerator.AppliedLora("golden", lora, 1f)), 1)
                        .generate(prompt, manager, StepListener.NONE).image();
                BufferedImage withoutLora = new ImageGenerator(tiny, letters, List.of(), 1)
                        .generate(prompt, manager, StepListener.NONE).image();
                assertArrayEquals(pixels(withLora), pixels(first), "sampler image = engine image with the LoRA");
                assertFalse(java.util.Arrays.equals(pixels(withoutLora), pixels(first)),
                        "the checkpoint LoRA changes the image");
            }

            // redelivered (same CloudEvent time): the same keys are written again, not new ones
            fixture.request(new SamplesRequested(job, checkpoint, List.of(seeded), 10, 1), time);
            ConsumerRecord<String, String> again = progress.awaitCount(r -> job.equals(r.key()), 3, WAIT).get(2);
            assertEquals("s3://" + fixture.bucket() + "/" + keys.get(0), valid(again).path("artifact").asText());
            assertArrayEquals(pixels(first), pixels(png(keys.get(0))));
        }
    }

    @Test
    void epochAndFirstSamplesAreNamedByEpoch() throws Exception {
        String job = SamplerFixture.uniqueName("epochs");
        String model = fixture.putTinyModel(job);
        String checkpoint = fixture.putCheckpoint(job, "pets-000002.safetensors");
        fixture.putJob(job, model, "output_name = \"pets\"\nsample_every_n_epochs = 2\nsample_at_first = true\n");
        Instant time = Instant.parse("2026-03-04T05:06:07Z");
        try (TopicWatcher progress = TopicWatcher.watch(companion, Topics.TRAINING_PROGRESS)) {
            fixture.request(new SamplesRequested(job, checkpoint, List.of("s --w 64 --h 64 --s 1"), 0, 0), time);
            fixture.request(new SamplesRequested(job, checkpoint, List.of("c --w 64 --h 64 --s 1"), 40, 2), time);
            List<ConsumerRecord<String, String>> records = progress.awaitCount(r -> job.equals(r.key()), 2, WAIT);
            String samples = "s3://" + fixture.bucket() + "/outputs/" + job + "/samples/";
            assertEquals(samples + "pets_e000000_00_20260304050607.png", valid(records.get(0)).path("artifact").asText());
            assertEquals(samples + "pets_e000002_00_20260304050607.png", valid(records.get(1)).path("artifact").asText());
        }
    }

    @Test
    void badRequestsAreLoggedAndCountedAndTheNextRequestIsServed() throws Exception {
        String job = SamplerFixture.uniqueName("bad");
        String model = fixture.putTinyModel(job);
        String checkpoint = fixture.putCheckpoint(job, "bad-step00000007.safetensors");
        fixture.putJob(job, model, "output_name = \"bad\"\n");
        String broken = SamplerFixture.uniqueName("broken");
        fixture.put("models/" + broken + ".safetensors", "not a safetensors file at all".getBytes(StandardCharsets.UTF_8));
        fixture.putJob(broken, "models/" + broken + ".safetensors", "");
        String notLora = "outputs/" + job + "/not-a-lora.safetensors";
        fixture.put(notLora, Files.readAllBytes(TinyTrainingFixture.tinySd15().resolve("vae/diffusion_pytorch_model.safetensors")));
        String noJob = SamplerFixture.uniqueName("nojob");
        double failedBefore = registry.counter("kiln.sampler.requests", "outcome", "failed").count();
        Instant time = Instant.parse("2026-05-06T07:08:09Z");
        List<String> prompt = List.of("s c --w 64 --h 64 --s 1");

        try (TopicWatcher progress = TopicWatcher.watch(companion, Topics.TRAINING_PROGRESS)) {
            String missing = "outputs/" + job + "/missing.safetensors";
            fixture.request(new SamplesRequested(job, missing, prompt, 5, 1), time);
            fixture.request(new SamplesRequested(broken, checkpoint, prompt, 5, 1), time);
            fixture.request(new SamplesRequested(job, notLora, prompt, 5, 1), time);
            fixture.request(new SamplesRequested(noJob, checkpoint, prompt, 5, 1), time);
            companion.produceStrings().fromRecords(new ProducerRecord<>(Topics.SAMPLES_REQUESTED, job,
                    "{\"jobId\":\"" + job + "\",\"prompts\":[]}")).awaitCompletion(WAIT);
            awaitError("checkpoint " + missing + " does not exist");
            // the error names the object, not the local download
            awaitError("base model models/" + broken + ".safetensors does not load: invalid safetensors file models/"
                    + broken + ".safetensors");
            awaitError("checkpoint " + notLora + " is not a loadable kohya LoRA");
            awaitError("jobs/" + noJob + "/job.toml does not exist");
            awaitError("is not a valid request");
            // the broken model is remembered, not downloaded again
            fixture.request(new SamplesRequested(broken, checkpoint, prompt, 6, 1), time);
            awaitError("models/" + broken + ".safetensors does not load: invalid safetensors file models/" + broken
                    + ".safetensors: ");
            awaitError("(not downloaded again until the model's objects change)");

            // still serving: a prompt the letter tokenizer cannot encode and one too large are skipped, the third kept
            fixture.request(new SamplesRequested(job, checkpoint, List.of("photo of a cat --w 64 --h 64 --s 1",
                    "s c --w 4096 --h 4096 --s 1", "s c --w 64 --h 64 --s 1 --d 3"), 7, 1), time);
            ConsumerRecord<String, String> served = progress.await(r -> job.equals(r.key()), WAIT);
            assertEquals("s3://" + fixture.bucket() + "/outputs/" + job + "/samples/bad_000007_02_20260506070809_3.png",
                    valid(served).path("artifact").asText());
            awaitError("sample prompt 0 of step 7 not rendered: BPE symbol");
            awaitError("sample prompt 1 of step 7 not rendered: --w 4096 --h 4096 is 16777216 pixels, over the limit");
            assertEquals(1, progress.matching(r -> job.equals(r.key()) || broken.equals(r.key())
                    || noJob.equals(r.key())).size(), "no event for a request that was not served");
            assertTrue(registry.counter("kiln.sampler.requests", "outcome", "failed").count() >= failedBefore + 6);
            assertTrue(errors.stream().noneMatch(m -> m.contains("kiln-sampler")), "no local paths: " + errors);
        }
    }

    private void awaitError(String fragment) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (errors.stream().noneMatch(m -> m.contains(fragment))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no ERROR log containing '" + fragment + "'; errors: " + errors);
            }
            Thread.sleep(100);
        }
    }

    private BufferedImage png(String key) throws IOException {
        byte[] bytes = fixture.bytes(key);
        assertNotNull(bytes, key + " exists");
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(bytes));
        assertNotNull(image, key + " is a PNG");
        return image;
    }

    private static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }
}
