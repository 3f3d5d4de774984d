package dev.kiln.sampler.request;

import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.model.LoadOptions;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.events.CloudEventAttributes;
import dev.kiln.model.events.SamplesRequested;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.sampler.SamplerConfig;
import dev.kiln.sampler.model.BaseModels;
import dev.kiln.sampler.render.SampleKeys;
import dev.kiln.sampler.render.SampleRenderer;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.common.annotation.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.UUID;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Serves {@code kiln.samples.requested}: reads the job's {@code jobs/<job>/job.toml} (base model, {@code v2},
 * {@code v_parameterization}, {@code clip_skip}, {@code sample_sampler}, {@code output_name}, the sample schedule),
 * loads the base model ({@link BaseModels}) and the checkpoint LoRA, renders every prompt line, stores each PNG under
 * {@code outputs/<job>/samples/} with sd-scripts' name and announces it with a {@code sample} progress event.
 *
 * <p>One request at a time. A request that cannot be served (no job.toml, no checkpoint, a model or LoRA that does
 * not load) is logged at ERROR with the key and the problem and counted in
 * {@code kiln.sampler.requests{outcome=failed}}; a prompt that cannot be rendered is logged and skipped
 * ({@code kiln.sampler.prompts{outcome=refused}}) and the others are rendered. The service keeps serving either way.
 */
@ApplicationScoped
public class SampleRequestConsumer {
    private static final Logger LOG = Logger.getLogger(SampleRequestConsumer.class);
    /** job.toml is parsed with limits of its own; this only bounds the download. */
    private static final int MAX_JOB_TOML_BYTES = 4 * 1024 * 1024;

    private final S3Storage storage;
    private final BaseModels models;
    private final SampleEvents events;
    private final SamplerConfig config;
    private final MeterRegistry registry;

    @Inject
    public SampleRequestConsumer(S3Storage storage, BaseModels models, SampleEvents events, SamplerConfig config,
                                 MeterRegistry registry) {
        this.storage = storage;
        this.models = models;
        this.events = events;
        this.config = config;
        this.registry = registry;
    }

    @Incoming("samples-requested")
    @Blocking
    public void consume(ConsumerRecord<String, String> record) {
        SamplesRequested request;
        try {
            request = Json.read(record.value(), SamplesRequested.class);
        } catch (IllegalArgumentException e) {
            failed("samples.requested record at " + record.topic() + "-" + record.partition() + "@" + record.offset()
                    + " is not a valid request: " + e.getMessage());
            return;
        }
        try {
            int stored = serve(request, requestTime(record));
            registry.counter("kiln.sampler.requests", "outcome", "served").increment();
            LOG.infof("job %s: %d of %d sample(s) stored for step %d from %s", request.jobId(), stored,
                    request.prompts().size(), request.step(), request.checkpointKey());
        } catch (SampleRequestException e) {
            failed("job " + request.jobId() + ": samples for step " + request.step() + " not rendered: "
                    + e.getMessage());
        } catch (RuntimeException e) {
            // never let one request stop the channel: later requests must still be served
            LOG.errorf(e, "job %s: samples for step %d not rendered", request.jobId(), request.step());
            registry.counter("kiln.sampler.requests", "outcome", "failed").increment();
        }
    }

    private void failed(String message) {
        LOG.error(message);
        registry.counter("kiln.sampler.requests", "outcome", "failed").increment();
    }

    /** Renders, stores and announces the request's images; returns how many were stored. */
    int serve(SamplesRequested request, Instant time) {
        if (request.prompts().size() > config.maxPrompts()) {
            throw new SampleRequestException(request.prompts().size() + " prompts, over the limit of "
                    + config.maxPrompts() + " (kiln.sampler.max-prompts)");
        }
        JobSpec spec = jobSpec(request.jobId());
        BaseModels.Loaded base = models.get(spec.pretrainedModel(), loadOptions(spec));
        ClipTokenizer tokenizer = base.model().tokenizer();
        if (spec.flag("v2")) {
            tokenizer = tokenizer.withPadId(0); // as kiln train and sd-scripts pad SD2 prompts
        }
        SampleKeys keys = new SampleKeys(spec);
        int[] stored = {0};
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork lora = checkpoint(request.checkpointKey(), manager);
            SampleRenderer renderer;
            try {
                renderer = new SampleRenderer(base.model(), tokenizer, request.checkpointKey(), lora,
                        new SampleRenderer.Settings(spec.stringArgument("sample_sampler"),
                                (int) spec.intArgument("clip_skip", 1), config.maxPixels()));
            } catch (IllegalArgumentException e) {
                throw new SampleRequestException(e.getMessage(), e);
            }
            renderer.render(request.prompts(), request.checkpointKey(), manager, outcome -> {
                if (outcome instanceof SampleRenderer.Rendered r) {
                    String key = keys.key(request.step(), request.epoch(), r.index(), time, r.givenSeed());
                    byte[] png = png(r);
                    storage.put(key, new ByteArrayInputStream(png), png.length, "image/png");
                    String artifact = "s3://" + storage.bucket() + "/" + key;
                    events.sample(request.jobId(), request.step(), request.epoch(), artifact, "prompt "
                            + (r.index() + 1) + "/" + request.prompts().size() + " (seed " + r.seed() + "): "
                            + r.prompt().prompt());
                    registry.counter("kiln.sampler.prompts", "outcome", "rendered").increment();
                    stored[0]++;
                } else if (outcome instanceof SampleRenderer.Refused f) {
                    LOG.errorf("job %s: sample prompt %d of step %d not rendered: %s (prompt: %s)", request.jobId(),
                            f.index(), request.step(), f.reason(), f.line());
                    registry.counter("kiln.sampler.prompts", "outcome", "refused").increment();
                }
            });
        }
        return stored[0];
    }

    private static LoadOptions loadOptions(JobSpec spec) {
        LoadOptions load = LoadOptions.defaults();
        if (spec.givenArguments().contains("v2")) {
            load = load.withV2(spec.flag("v2"));
        }
        if (spec.givenArguments().contains("v_parameterization")) {
            load = load.withVParameterization(spec.flag("v_parameterization"));
        }
        return load;
    }

    private JobSpec jobSpec(String jobId) {
        String key;
        try {
            key = ObjectKeys.jobSpec(jobId);
        } catch (IllegalArgumentException e) {
            throw new SampleRequestException("job id '" + jobId + "' cannot name a job: " + e.getMessage(), e);
        }
        try (InputStream in = storage.get(key)) {
            byte[] bytes = in.readNBytes(MAX_JOB_TOML_BYTES + 1);
            if (bytes.length > MAX_JOB_TOML_BYTES) {
                throw new SampleRequestException(key + " is larger than " + MAX_JOB_TOML_BYTES + " bytes");
            }
            return JobSpecParser.parse(new String(bytes, StandardCharsets.UTF_8), key, jobId);
        } catch (StorageException e) {
            throw new SampleRequestException(e.isNotFound() ? key + " does not exist: the sampler reads the base model"
                    + " and sample settings from it" : key + " cannot be read: " + e.getMessage(), e);
        } catch (ConfigException e) {
            throw new SampleRequestException(e.getMessage(), e);
        } catch (IOException e) {
            throw new SampleRequestException(key + " cannot be read: " + e.getMessage(), e);
        }
    }

    /** Downloads and loads the checkpoint LoRA; the file is removed once its tensors are in memory. */
    private LoraNetwork checkpoint(String key, NDManager manager) {
        String problem = ObjectKeys.problem(key);
        if (problem != null) {
            throw new SampleRequestException("checkpoint '" + key + "' is not a usable object key: " + problem);
        }
        Path file = Path.of(config.workDir()).resolve("checkpoints").resolve(UUID.randomUUID() + ".safetensors");
        try {
            storage.getToFile(key, file);
            return LoraNetwork.load(file, manager);
        } catch (StorageException e) {
            throw new SampleRequestException(e.isNotFound() ? "checkpoint " + key + " does not exist"
                    : "checkpoint " + key + " cannot be downloaded: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // safetensors validation and kohya key checks name the file; say which object it was
            throw new SampleRequestException("checkpoint " + key + " is not a loadable kohya LoRA: "
                    + e.getMessage().replace(file.toString(), key), e);
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warnf("cannot delete the download %s: %s", file, e.getMessage());
            }
        }
    }

    private static byte[] png(SampleRenderer.Rendered r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(r.image(), "png", out)) {
                throw new IllegalStateException("no PNG writer available");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** The request's CloudEvent time ({@code ce_time}), else the Kafka record's timestamp. */
    static Instant requestTime(ConsumerRecord<String, String> record) {
        Header header = record.headers().lastHeader(CloudEventAttributes.HEADER_TIME);
        if (header != null && header.value() != null) {
            try {
                return Instant.parse(new String(header.value(), StandardCharsets.UTF_8));
            } catch (DateTimeParseException e) {
                LOG.warnf("samples.requested record with an unreadable ce_time; using the record timestamp");
            }
        }
        return record.timestamp() >= 0 ? Instant.ofEpochMilli(record.timestamp()) : Instant.now();
    }
}
