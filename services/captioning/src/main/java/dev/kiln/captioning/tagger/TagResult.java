package dev.kiln.captioning.tagger;

import java.util.List;

/**
 * The tags for one image in caption order (as sd-scripts writes them) with their scores, and the caption
 * text: the tag names joined by the caption separator.
 */
public record TagResult(String caption, List<ScoredTag> tags) {

    /** Copies the list. */
    public TagResult {
        tags = List.copyOf(tags);
    }

    /** The tag names in caption order. */
    public List<String> names() {
        return tags.stream().map(ScoredTag::name).toList();
    }

    /** One emitted tag: its caption text (after underscore removal, replacement...), category and sigmoid score. */
    public record ScoredTag(String name, TagCategory category, float score) {
    }
}
