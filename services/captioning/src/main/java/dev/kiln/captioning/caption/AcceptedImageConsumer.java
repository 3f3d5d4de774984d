package dev.kiln.captioning.caption;

import dev.kiln.captioning.CaptioningConfig;
import dev.kiln.captioning.sidecar.Sidecars;
import dev.kiln.captioning.tagging.DefaultTagging;
import dev.kiln.captioning.tagging.ImageTagging;
import dev.kiln.captioning.tagging.TaggerUnavailableException;
import dev.kiln.model.events.CaptionSource;
import dev.kiln.model.events.ImageAccepted;
import dev.kiln.model.events.ImageCaptioned;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.KeyLayout;
import dev.kiln.model.keys.ObjectKeys;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.common.annotation.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Captions every accepted image ({@code kiln.images.accepted}, read in polled batches) and publishes
 * {@code kiln.images.captioned}:
 * <ol>
 *   <li>a caption in the event (ingestion read a sidecar) -> source {@code sidecar}, with the sidecar's key;</li>
 *   <li>no caption, but a sidecar exists now (uploaded after the image) -> {@code sidecar}, read from it;</li>
 *   <li>no caption, the service-default tagger is set and the image is not a regularization image -> tagged in
 *       batches, the caption written as a sidecar -> {@code tagger};</li>
 *   <li>otherwise, and when tagging fails or finds no tag -> the subset folder's class tokens
 *       ({@code class-tokens}).</li>
 * </ol>
 * A broken default tagger is logged with the model key and the problem (and counted); the images keep their
 * class tokens and the service keeps running. Jobs that ask for tagging are handled by the jobs consumer.
 */
@ApplicationScoped
public class AcceptedImageConsumer {
    private static final Logger LOG = Logger.getLogger(AcceptedImageConsumer.class);

    private final CaptionEvents events;
    private final Sidecars sidecars;
    private final ImageTagging tagging;
    private final DefaultTagging defaults;
    private final CaptioningConfig config;
    private final MeterRegistry registry;

    @Inject
    public AcceptedImageConsumer(CaptionEvents events, Sidecars sidecars, ImageTagging tagging,
                                 DefaultTagging defaults, CaptioningConfig config, MeterRegistry registry) {
        this.events = events;
        this.sidecars = sidecars;
        this.tagging = tagging;
        this.defaults = defaults;
        this.config = config;
        this.registry = registry;
    }

    @Incoming("images-accepted")
    @Blocking
    public void consume(List<String> bodies) {
        List<ImageAccepted> images = new ArrayList<>();
        for (String body : bodies) {
            try {
                ImageAccepted image = Json.read(body, ImageAccepted.class);
                if (!ObjectKeys.isSafe(image.key())) {
                    throw new IllegalArgumentException("unsafe key " + image.key());
                }
                images.add(image);
            } catch (IllegalArgumentException e) {
                // ingestion validated what it published; a record that does not parse cannot be captioned
                LOG.warnf("images.accepted record ignored: %s", e.getMessage());
            }
        }
        // later records of the same image win within a batch
        Map<String, ImageCaptioned> captions = new LinkedHashMap<>();
        List<ImageTagging.Request> toTag = new ArrayList<>();
        Map<String, ImageAccepted> byKey = new LinkedHashMap<>();
        for (ImageAccepted image : images) {
            byKey.put(image.key(), image);
            captions.remove(image.key());
            toTag.removeIf(r -> r.key().equals(image.key()));
            ImageCaptioned fromSidecar = fromSidecar(image);
            if (fromSidecar != null) {
                captions.put(image.key(), fromSidecar);
            } else if (defaults.settings().isPresent() && !image.subset().isReg()) {
                toTag.add(new ImageTagging.Request(image.key(), image.dataset(), image.sha256(),
                        Sidecars.candidates(image.key(), config.captionExtension())));
            } else {
                captions.put(image.key(), classTokens(image));
            }
        }
        events.publish(List.copyOf(captions.values()));
        if (!toTag.isEmpty()) {
            tag(toTag, byKey);
        }
    }

    private void tag(List<ImageTagging.Request> requests, Map<String, ImageAccepted> byKey) {
        Set<String> done = new HashSet<>();
        try {
            tagging.tag(defaults.settings().orElseThrow(), requests, outcomes -> {
                List<ImageCaptioned> chunk = new ArrayList<>();
                for (ImageTagging.Outcome outcome : outcomes) {
                    done.add(outcome.request().key());
                    if (outcome instanceof ImageTagging.Tagged tagged) {
                        chunk.add(tagged.event());
                    } else if (outcome instanceof ImageTagging.Skipped skipped
                            && (skipped.reason() == ImageTagging.SkipReason.NO_TAGS
                            || skipped.reason() == ImageTagging.SkipReason.UNREADABLE)) {
                        chunk.add(classTokens(byKey.get(skipped.request().key())));
                    }
                    // SIDECAR_EXISTS and CHANGED: ingestion announces the image again with its caption or content
                }
                events.publish(chunk);
            });
        } catch (TaggerUnavailableException e) {
            registry.counter("kiln.captioning.tagger.errors", "model", e.modelKey()).increment();
            LOG.errorf("default tagger (kiln.captioning.tagger.model) cannot be used: %s; %d image(s) keep their"
                    + " class tokens", e.getMessage(), requests.size());
            // images of chunks finished before the failure keep what was published for them
            events.publish(requests.stream().filter(r -> !done.contains(r.key()))
                    .map(r -> classTokens(byKey.get(r.key()))).toList());
        }
    }

    /** The caption ingestion found, or a sidecar that exists now; null when the image has no caption file. */
    private ImageCaptioned fromSidecar(ImageAccepted image) {
        List<String> candidates = Sidecars.candidates(image.key(), KeyLayout.DEFAULT_CAPTION_EXTENSIONS.get(0));
        Optional<String> key = sidecars.firstExisting(candidates);
        if (image.caption() != null) {
            // the caption's file may be gone by now; the event still says where ingestion read it
            return new ImageCaptioned(image.key(), image.dataset(), image.sha256(), image.caption(), List.of(),
                    CaptionSource.SIDECAR, key.orElse(candidates.get(0)));
        }
        Optional<String> caption = key.flatMap(sidecars::read);
        return caption.map(text -> new ImageCaptioned(image.key(), image.dataset(), image.sha256(), text, List.of(),
                CaptionSource.SIDECAR, key.get())).orElse(null);
    }

    private static ImageCaptioned classTokens(ImageAccepted image) {
        String tokens = image.subset().classTokens() == null ? "" : image.subset().classTokens();
        return new ImageCaptioned(image.key(), image.dataset(), image.sha256(), tokens, List.of(),
                CaptionSource.CLASS_TOKENS, null);
    }
}
