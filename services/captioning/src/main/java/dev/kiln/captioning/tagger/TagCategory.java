package dev.kiln.captioning.tagger;

/** The categories of a WD14 {@code selected_tags.csv} that sd-scripts uses, with their CSV codes. */
public enum TagCategory {
    GENERAL(0),
    CHARACTER(4),
    RATING(9);

    private final int code;

    TagCategory(int code) {
        this.code = code;
    }

    /** The value of the {@code category} column. */
    public int code() {
        return code;
    }

    /** The category with this CSV code, or {@code null} for codes sd-scripts ignores (e.g. copyright, meta). */
    static TagCategory ofCode(int code) {
        for (TagCategory c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return null;
    }
}
