package dev.kiln.captioning.job;

import dev.kiln.captioning.caption.CaptionEvents;
import dev.kiln.captioning.sidecar.Sidecars;
import dev.kiln.captioning.tagging.ImageTagging;
import dev.kiln.captioning.tagging.TaggerUnavailableException;
import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.dataset.DatasetBlueprint;
import dev.kiln.model.dataset.DatasetKind;
import dev.kiln.model.dataset.ImageFiles;
import dev.kiln.model.dataset.SubsetParams;
import dev.kiln.model.events.ImageCaptioned;
import dev.kiln.model.events.JobSubmitted;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.keys.ParsedKey;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.common.annotation.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Tags a submitted job's uncaptioned images when its job.toml has a {@code [captioning]} table
 * ({@code kiln.jobs.submitted}): reads the job.toml named by {@code specKey}, resolves its datasets (a legacy job's
 * subset folders are listed from the bucket), lists the images directly in each DreamBooth training subset's
 * {@code image_dir} and tags those with no caption file (neither the subset's {@code caption_extension} nor
 * {@code .txt} / {@code .caption}). Each caption is written as {@code <image stem><caption_extension>}, so the
 * plan reads it, and published as {@code kiln.images.captioned} with source {@code tagger}.
 *
 * <p>Regularization subsets and fine-tuning (metadata) subsets are not tagged. A model that is missing or cannot be
 * loaded ends the job with a {@code failed} progress event naming the model key and the problem; the images keep
 * their class tokens and nothing is written.
 */
@ApplicationScoped
public class JobSubmittedConsumer {
    private static final Logger LOG = Logger.getLogger(JobSubmittedConsumer.class);
    /** job.toml is parsed with a character limit of its own; this only bounds the download. */
    private static final int MAX_JOB_TOML_BYTES = 4 * 1024 * 1024;

    private final S3Storage storage;
    private final ImageTagging tagging;
    private final CaptionEvents events;
    private final MeterRegistry registry;

    @Inject
    public JobSubmittedConsumer(S3Storage storage, ImageTagging tagging, CaptionEvents events, MeterRegistry registry) {
        this.storage = storage;
        this.tagging = tagging;
        this.events = events;
        this.registry = registry;
    }

    @Incoming("jobs-submitted")
    @Blocking
    public void consume(String body) {
        JobSubmitted submitted;
        try {
            submitted = Json.read(body, JobSubmitted.class);
        } catch (IllegalArgumentException e) {
            LOG.warnf("jobs.submitted record ignored: %s", e.getMessage());
            return;
        }
        String jobId = submitted.jobId();
        JobSpec spec;
        try {
            spec = JobSpecParser.parse(readText(submitted.specKey()), submitted.specKey(), jobId);
        } catch (ConfigException e) {
            // ingestion validated this file when it published the event; it has changed since, and fails there
            LOG.warnf("job %s: %s is not valid any more, not tagging: %s", jobId, submitted.specKey(), e.getMessage());
            return;
        } catch (StorageException e) {
            LOG.warnf("job %s: %s cannot be read, not tagging: %s", jobId, submitted.specKey(), e.getMessage());
            return;
        }
        if (spec.captioning() == null) {
            return;
        }
        String modelKey = spec.captioning().captionModel();
        try {
            List<ImageTagging.Request> requests = uncaptioned(spec);
            LOG.infof("job %s: tagging %d uncaptioned image(s) with %s", jobId, requests.size(), modelKey);
            int[] tagged = {0};
            tagging.tag(spec.captioning(), requests, outcomes -> {
                List<ImageCaptioned> chunk = new ArrayList<>();
                for (ImageTagging.Outcome outcome : outcomes) {
                    if (outcome instanceof ImageTagging.Tagged t) {
                        chunk.add(t.event());
                    }
                }
                events.publish(chunk);
                tagged[0] += chunk.size();
            });
            LOG.infof("job %s: %d of %d image(s) tagged", jobId, tagged[0], requests.size());
        } catch (TaggerUnavailableException e) {
            registry.counter("kiln.captioning.tagger.errors", "model", modelKey).increment();
            LOG.errorf("job %s: %s", jobId, e.getMessage());
            events.jobFailed(jobId, "captioning: " + e.getMessage()
                    + "; images without a caption file keep their class tokens");
        } catch (StorageException e) {
            LOG.errorf("job %s: %s", jobId, e.getMessage());
            events.jobFailed(jobId, "captioning: cannot list the job's images to tag them with " + modelKey + ": "
                    + e.getMessage());
        } catch (ConfigException e) {
            // the dataset resolves only against the bucket's folders; planning reports the same error
            LOG.warnf("job %s: dataset cannot be resolved, not tagging: %s", jobId, e.getMessage());
        }
    }

    /** The images of the job's DreamBooth training subsets that have no caption file, each once. */
    private List<ImageTagging.Request> uncaptioned(JobSpec spec) {
        List<String> warnings = new ArrayList<>();
        Map<String, ImageTagging.Request> requests = new LinkedHashMap<>();
        for (DatasetBlueprint dataset : spec.dataset().resolve(new BucketFolders(storage), warnings)) {
            if (dataset.kind() != DatasetKind.DREAMBOOTH) {
                continue;
            }
            for (SubsetParams subset : dataset.subsets()) {
                if (subset.isReg() || subset.imageDir() == null || subset.numRepeats() < 1) {
                    continue;
                }
                String prefix = BucketFolders.folder(subset.imageDir());
                if (!ObjectKeys.isSafe(prefix + "x")) {
                    LOG.warnf("job %s: image_dir '%s' is not a usable key prefix; not tagged", spec.name(),
                            subset.imageDir());
                    continue;
                }
                addUncaptioned(spec.name(), subset, storage.list(prefix, false), requests);
            }
        }
        warnings.forEach(w -> LOG.infof("job %s: %s", spec.name(), w));
        return List.copyOf(requests.values());
    }

    private static void addUncaptioned(String jobId, SubsetParams subset, List<ObjectInfo> objects,
                                       Map<String, ImageTagging.Request> requests) {
        Set<String> keys = new HashSet<>();
        objects.forEach(o -> keys.add(o.key()));
        for (ObjectInfo object : objects) {
            String name = ImageFiles.fileName(object.key());
            if (!ImageFiles.isImage(name) || ImageFiles.isHidden(name) || requests.containsKey(object.key())) {
                continue;
            }
            List<String> sidecars = Sidecars.candidates(object.key(), subset.captionExtension());
            if (sidecars.stream().anyMatch(keys::contains)) {
                continue;
            }
            ParsedKey parsed = ObjectKeys.parse(object.key());
            if (parsed.dataset() == null) {
                LOG.warnf("job %s: %s is not under datasets/<dataset>/; not tagged", jobId, object.key());
                continue;
            }
            requests.put(object.key(), new ImageTagging.Request(object.key(), parsed.dataset(), null, sidecars));
        }
    }

    private String readText(String key) {
        try (InputStream in = storage.get(key)) {
            byte[] bytes = in.readNBytes(MAX_JOB_TOML_BYTES + 1);
            if (bytes.length > MAX_JOB_TOML_BYTES) {
                throw new ConfigException(key, null, "file is larger than " + MAX_JOB_TOML_BYTES + " bytes");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new StorageException("get", storage.bucket(), key, e.getMessage(), false, e);
        }
    }
}
