package dev.kiln.model.events;

import java.util.List;

/**
 * {@code kiln.images.captioned} (key = dataset): the caption attached to an image.
 *
 * @param key        the image's object key
 * @param dataset    the dataset name
 * @param sha256     the image's SHA-256 (ties the caption to that exact content)
 * @param caption    the caption text (UTF-8, BOM removed)
 * @param tags       tagger tags with scores; empty unless {@code source} is {@code tagger}
 * @param source     where the caption came from
 * @param captionKey the sidecar object key when {@code source} is {@code sidecar}, else null
 */
public record ImageCaptioned(String key, String dataset, String sha256, String caption, List<TagScore> tags,
                             CaptionSource source, String captionKey) {

    public ImageCaptioned {
        Fields.requiredText(key, "images.captioned", "key");
        Fields.requiredText(dataset, "images.captioned", "dataset");
        Fields.requiredText(sha256, "images.captioned", "sha256");
        Fields.required(caption, "images.captioned", "caption");
        Fields.required(source, "images.captioned", "source");
        tags = tags == null ? List.of() : List.copyOf(tags);
    }
}
