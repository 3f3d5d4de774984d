package dev.kiln.captioning.tagger;

import dev.kiln.model.job.CaptioningSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The options of sd-scripts' {@code finetune/tag_images_by_wd14_tagger.py} that shape the caption, with the same
 * defaults: {@code --thresh 0.35}, {@code --general_threshold} and {@code --character_threshold} default to it
 * (above 1 disables a category), {@code --undesired_tags}, {@code --tag_replacement}, {@code --always_first_tags},
 * {@code --caption_separator ", "}, {@code --remove_underscore}, {@code --character_tag_expand},
 * {@code --character_tags_first}, {@code --use_rating_tags}, {@code --use_rating_tags_as_last_tag},
 * {@code --batch_size 1}. Build with {@link #builder()}.
 */
public record TaggerOptions(
        double threshold,
        double generalThreshold,
        double characterThreshold,
        Set<String> undesiredTags,
        Map<String, String> tagReplacements,
        List<String> alwaysFirstTags,
        String captionSeparator,
        boolean removeUnderscore,
        boolean characterTagExpand,
        boolean characterTagsFirst,
        boolean useRatingTags,
        boolean useRatingTagsAsLastTag,
        int batchSize) {

    /** sd-scripts' {@code --thresh} default. */
    public static final double DEFAULT_THRESHOLD = CaptioningSettings.DEFAULT_THRESHOLD;
    /** sd-scripts' {@code --caption_separator} default. */
    public static final String DEFAULT_SEPARATOR = CaptioningSettings.DEFAULT_SEPARATOR;

    /** Validates and copies the collections. */
    public TaggerOptions {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch_size must be at least 1, got " + batchSize);
        }
        if (captionSeparator == null || captionSeparator.isEmpty()) {
            throw new IllegalArgumentException("caption_separator must not be empty");
        }
        undesiredTags = Set.copyOf(undesiredTags);
        tagReplacements = Collections.unmodifiableMap(new LinkedHashMap<>(tagReplacements));
        alwaysFirstTags = List.copyOf(alwaysFirstTags);
    }

    /** All defaults (as sd-scripts with no options). */
    public static TaggerOptions defaults() {
        return builder().build();
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A tag list in sd-scripts' one-string form; see {@link CaptioningSettings#tagList}. */
    public static List<String> parseTagList(String text, String captionSeparator) {
        return CaptioningSettings.tagList(text, captionSeparator);
    }

    /** {@code --tag_replacement} syntax; see {@link CaptioningSettings#tagReplacements}. */
    public static Map<String, String> parseTagReplacements(String spec) {
        try {
            return CaptioningSettings.tagReplacements(spec);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("tag_replacement: " + e.getMessage(), e);
        }
    }

    /**
     * The options of a job's {@code [captioning]} table (or the service's default); {@code defaultBatchSize}
     * applies when the settings leave {@code batch_size} unset.
     */
    public static TaggerOptions of(CaptioningSettings settings, int defaultBatchSize) {
        return builder().threshold(settings.thresh())
                .generalThreshold(settings.generalThreshold())
                .characterThreshold(settings.characterThreshold())
                .undesiredTags(settings.undesiredTags().toArray(String[]::new))
                .alwaysFirstTags(settings.alwaysFirstTags().toArray(String[]::new))
                .tagReplacements(settings.tagReplacements())
                .captionSeparator(settings.captionSeparator())
                .removeUnderscore(settings.removeUnderscore())
                .characterTagExpand(settings.characterTagExpand())
                .characterTagsFirst(settings.characterTagsFirst())
                .useRatingTags(settings.useRatingTags())
                .useRatingTagsAsLastTag(settings.useRatingTagsAsLastTag())
                .batchSize(settings.batchSize() != null ? settings.batchSize() : defaultBatchSize)
                .build();
    }

    /** Builder for {@link TaggerOptions}; unset thresholds follow {@link #threshold(double)}. */
    public static final class Builder {
        private double threshold = DEFAULT_THRESHOLD;
        private Double generalThreshold;
        private Double characterThreshold;
        private Set<String> undesiredTags = new LinkedHashSet<>();
        private Map<String, String> tagReplacements = new LinkedHashMap<>();
        private List<String> alwaysFirstTags = new ArrayList<>();
        private String captionSeparator = DEFAULT_SEPARATOR;
        private boolean removeUnderscore;
        private boolean characterTagExpand;
        private boolean characterTagsFirst;
        private boolean useRatingTags;
        private boolean useRatingTagsAsLastTag;
        private int batchSize = 1;

        private Builder() {
        }

        /** {@code --thresh}. */
        public Builder threshold(double value) {
            threshold = value;
            return this;
        }

        /** {@code --general_threshold}. */
        public Builder generalThreshold(double value) {
            generalThreshold = value;
            return this;
        }

        /** {@code --character_threshold}. */
        public Builder characterThreshold(double value) {
            characterThreshold = value;
            return this;
        }

        /** {@code --undesired_tags}, matched against the final tag text. */
        public Builder undesiredTags(String... tags) {
            undesiredTags = new LinkedHashSet<>(Arrays.asList(tags));
            return this;
        }

        /** {@code --tag_replacement} as source → target pairs, applied to the tag text after underscore removal. */
        public Builder tagReplacements(Map<String, String> replacements) {
            tagReplacements = new LinkedHashMap<>(replacements);
            return this;
        }

        /** {@code --always_first_tags}: present tags move to the front, the last listed ends up first. */
        public Builder alwaysFirstTags(String... tags) {
            alwaysFirstTags = new ArrayList<>(Arrays.asList(tags));
            return this;
        }

        /** {@code --caption_separator}. */
        public Builder captionSeparator(String separator) {
            captionSeparator = separator;
            return this;
        }

        /** {@code --remove_underscore}. */
        public Builder removeUnderscore(boolean value) {
            removeUnderscore = value;
            return this;
        }

        /** {@code --character_tag_expand}. */
        public Builder characterTagExpand(boolean value) {
            characterTagExpand = value;
            return this;
        }

        /** {@code --character_tags_first}. */
        public Builder characterTagsFirst(boolean value) {
            characterTagsFirst = value;
            return this;
        }

        /** {@code --use_rating_tags}. */
        public Builder useRatingTags(boolean value) {
            useRatingTags = value;
            return this;
        }

        /** {@code --use_rating_tags_as_last_tag}. */
        public Builder useRatingTagsAsLastTag(boolean value) {
            useRatingTagsAsLastTag = value;
            return this;
        }

        /** {@code --batch_size}; a model with a fixed batch dimension overrides it. */
        public Builder batchSize(int value) {
            batchSize = value;
            return this;
        }

        /** The options. */
        public TaggerOptions build() {
            return new TaggerOptions(threshold,
                    generalThreshold != null ? generalThreshold : threshold,
                    characterThreshold != null ? characterThreshold : threshold,
                    undesiredTags, tagReplacements, alwaysFirstTags, captionSeparator, removeUnderscore,
                    characterTagExpand, characterTagsFirst, useRatingTags, useRatingTagsAsLastTag, batchSize);
        }
    }
}
