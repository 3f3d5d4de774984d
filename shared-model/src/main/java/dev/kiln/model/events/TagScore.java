package dev.kiln.model.events;

/**
 * One tagger tag with its confidence.
 *
 * @param tag   the tag as written into captions (e.g. {@code "cat"})
 * @param score confidence in [0, 1]
 */
public record TagScore(String tag, double score) {

    public TagScore {
        Fields.requiredText(tag, "tag", "tag");
        if (!(score >= 0.0 && score <= 1.0)) {
            throw new IllegalArgumentException("tag '" + tag + "': score must be in [0, 1], got " + score);
        }
    }
}
