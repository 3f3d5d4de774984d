package dev.kiln.model.dataset;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One subset's parameters after sd-scripts' resolution (subset, then dataset, then [general], then the
 * training arguments, then the record default; the first non-missing value wins).
 * Field names follow sd-scripts; {@link #toJson} writes them under sd-scripts' names.
 *
 * @param table where the subset was configured, e.g. {@code datasets[0].subsets[1]} (for error messages)
 * @param faceCropAugRange null or {lo, hi}
 * @param customAttributes free-form table, empty when not given
 */
public record SubsetParams(
        DatasetKind kind,
        String table,
        String imageDir,
        String metadataFile,
        boolean isReg,
        String classTokens,
        String captionExtension,
        boolean cacheInfo,
        boolean alphaMask,
        int numRepeats,
        boolean shuffleCaption,
        String captionSeparator,
        int keepTokens,
        String keepTokensSeparator,
        String secondarySeparator,
        boolean enableWildcard,
        boolean colorAug,
        boolean flipAug,
        double[] faceCropAugRange,
        boolean randomCrop,
        String captionPrefix,
        String captionSuffix,
        double captionDropoutRate,
        int captionDropoutEveryNEpochs,
        double captionTagDropoutRate,
        int tokenWarmupMin,
        double tokenWarmupStep,
        Map<String, Object> customAttributes,
        String resizeInterpolation) {

    /** The resolved parameters under sd-scripts' names, in the order sd-scripts prints them. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("image_dir", imageDir);
        if (kind == DatasetKind.FINETUNE) {
            m.put("metadata_file", metadataFile);
        } else {
            m.put("is_reg", isReg);
            m.put("class_tokens", classTokens);
            m.put("caption_extension", captionExtension);
            m.put("cache_info", cacheInfo);
        }
        m.put("num_repeats", numRepeats);
        m.put("shuffle_caption", shuffleCaption);
        m.put("caption_separator", captionSeparator);
        m.put("keep_tokens", keepTokens);
        m.put("keep_tokens_separator", keepTokensSeparator);
        m.put("secondary_separator", secondarySeparator);
        m.put("enable_wildcard", enableWildcard);
        m.put("caption_prefix", captionPrefix);
        m.put("caption_suffix", captionSuffix);
        m.put("caption_dropout_rate", captionDropoutRate);
        m.put("caption_dropout_every_n_epochs", captionDropoutEveryNEpochs);
        m.put("caption_tag_dropout_rate", captionTagDropoutRate);
        m.put("color_aug", colorAug);
        m.put("flip_aug", flipAug);
        m.put("face_crop_aug_range", faceCropAugRange == null ? null : List.of(faceCropAugRange[0], faceCropAugRange[1]));
        m.put("random_crop", randomCrop);
        m.put("token_warmup_min", tokenWarmupMin);
        m.put("token_warmup_step", tokenWarmupStep);
        m.put("alpha_mask", alphaMask);
        m.put("resize_interpolation", resizeInterpolation);
        m.put("custom_attributes", customAttributes);
        return m;
    }
}
