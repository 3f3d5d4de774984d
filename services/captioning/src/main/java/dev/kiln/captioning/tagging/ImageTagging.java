package dev.kiln.captioning.tagging;

import dev.kiln.captioning.sidecar.Sidecars;
import dev.kiln.captioning.tagger.TagResult;
import dev.kiln.captioning.tagger.TaggerException;
import dev.kiln.captioning.tagger.WdTagger;
import dev.kiln.model.events.CaptionSource;
import dev.kiln.model.events.ImageCaptioned;
import dev.kiln.model.events.TagScore;
import dev.kiln.model.job.CaptioningSettings;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Tags images with a job's (or the service's) tagger and writes each caption as a sidecar where the image has
 * none, in chunks of the tagger's batch size: download and prepare a chunk, one batched inference, write its
 * sidecars, hand its outcomes to the caller (who publishes them), then the next chunk.
 */
@ApplicationScoped
public class ImageTagging {
    private static final Logger LOG = Logger.getLogger(ImageTagging.class);

    /**
     * One image to tag.
     *
     * @param expectedSha256 the SHA-256 ingestion accepted, or null when unknown (a job's listing)
     * @param sidecars the keys that would be its caption ({@link Sidecars#candidates}); the first is written
     */
    public record Request(String key, String dataset, String expectedSha256, List<String> sidecars) {
    }

    /** What happened to one image. */
    public sealed interface Outcome permits Tagged, Skipped {
        Request request();
    }

    /** Tagged, its caption written to {@code request.sidecars().get(0)}, and the event to publish. */
    public record Tagged(Request request, ImageCaptioned event) implements Outcome {
    }

    /** Why an image was not tagged. */
    public enum SkipReason {
        /** A sidecar appeared before the write: the user's caption wins and nothing was written. */
        SIDECAR_EXISTS,
        /** No tag reached the thresholds: no caption file is written and the image keeps its class tokens. */
        NO_TAGS,
        /** The image could not be downloaded or decoded within the limits. */
        UNREADABLE,
        /** The object changed since it was accepted; its new version gets its own event. */
        CHANGED
    }

    /** Not tagged, with the reason and a detail for the log. */
    public record Skipped(Request request, SkipReason reason, String detail) implements Outcome {
    }

    private final TaggerRegistry registry;
    private final ImageLoader images;
    private final Sidecars sidecars;

    @Inject
    public ImageTagging(TaggerRegistry registry, ImageLoader images, Sidecars sidecars) {
        this.registry = registry;
        this.images = images;
        this.sidecars = sidecars;
    }

    /**
     * Tags {@code requests} with {@code settings}' tagger; after each chunk, {@code sink} gets that chunk's outcomes
     * in request order.
     *
     * @throws TaggerUnavailableException when the model or tags CSV cannot be used (before any image when it
     *     cannot be loaded)
     */
    public void tag(CaptioningSettings settings, List<Request> requests, Consumer<List<Outcome>> sink) {
        if (requests.isEmpty()) {
            return;
        }
        registry.withTagger(settings, tagger -> {
            for (int from = 0; from < requests.size(); from += tagger.batchSize()) {
                sink.accept(chunk(settings.captionModel(), tagger,
                        requests.subList(from, Math.min(requests.size(), from + tagger.batchSize()))));
            }
            return null;
        });
    }

    private List<Outcome> chunk(String modelKey, WdTagger tagger, List<Request> chunk) {
        Outcome[] outcomes = new Outcome[chunk.size()];
        List<Integer> loadedAt = new ArrayList<>();
        List<String> hashes = new ArrayList<>();
        List<BufferedImage> prepared = new ArrayList<>();
        for (int i = 0; i < chunk.size(); i++) {
            Request request = chunk.get(i);
            try {
                ImageLoader.Loaded image = images.load(request.key(), tagger);
                if (request.expectedSha256() != null && !request.expectedSha256().equals(image.sha256())) {
                    outcomes[i] = new Skipped(request, SkipReason.CHANGED, "content is no longer sha256 "
                            + request.expectedSha256());
                    continue;
                }
                loadedAt.add(i);
                hashes.add(image.sha256());
                prepared.add(image.prepared());
            } catch (ImageLoader.UnreadableImageException e) {
                outcomes[i] = new Skipped(request, SkipReason.UNREADABLE, e.getMessage());
            }
        }
        List<TagResult> results = infer(modelKey, tagger, prepared);
        results.forEach(result -> checkScores(modelKey, result));
        for (int n = 0; n < results.size(); n++) {
            int i = loadedAt.get(n);
            outcomes[i] = caption(chunk.get(i), hashes.get(n), results.get(n));
        }
        List<Outcome> list = List.of(outcomes);
        for (Outcome outcome : list) {
            if (outcome instanceof Skipped skipped) {
                LOG.infof("not tagged: %s (%s: %s)", skipped.request().key(), skipped.reason(), skipped.detail());
            }
        }
        return list;
    }

    private static List<TagResult> infer(String modelKey, WdTagger tagger, List<BufferedImage> prepared) {
        if (prepared.isEmpty()) {
            return List.of();
        }
        try {
            return tagger.tag(prepared);
        } catch (TaggerException e) {
            throw new TaggerUnavailableException(modelKey, "tagger model " + modelKey + " failed: " + e.getMessage(), e);
        }
    }

    /** Checked for the whole batch before any sidecar is written. */
    private static void checkScores(String modelKey, TagResult result) {
        for (TagResult.ScoredTag tag : result.tags()) {
            if (!(tag.score() >= 0 && tag.score() <= 1)) {
                throw new TaggerUnavailableException(modelKey, "tagger model " + modelKey + " gave tag '" + tag.name()
                        + "' the score " + tag.score() + ": a tagger outputs sigmoid scores in [0, 1]", null);
            }
        }
    }

    private Outcome caption(Request request, String sha256, TagResult result) {
        if (result.tags().isEmpty()) {
            return new Skipped(request, SkipReason.NO_TAGS, "no tag reached the thresholds");
        }
        List<TagScore> tags = result.tags().stream().map(t -> new TagScore(t.name(), t.score())).toList();
        var existing = sidecars.createIfAbsent(request.sidecars(), result.caption());
        if (existing.isPresent()) {
            return new Skipped(request, SkipReason.SIDECAR_EXISTS, existing.get() + " exists");
        }
        return new Tagged(request, new ImageCaptioned(request.key(), request.dataset(), sha256, result.caption(), tags,
                CaptionSource.TAGGER, null));
    }
}
