package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.List;

/**
 * How sd-scripts finds and reads a DreamBooth image's caption (train_util.py DreamBoothDataset.read_caption)
 * and builds a fine-tuning caption from metadata (FineTuningDataset.__init__). These give the stored caption;
 * the random per-sample processing is {@link CaptionProcessor}.
 */
public final class Captions {
    private Captions() {}

    /**
     * The sidecar files to try, in order: {@code <path without extension><captionExtension>}, then the same for
     * the name without a face-crop suffix ({@code <stem>_<cx>_<cy>_<w>_<h>}: when the path split on "_" has at
     * least 5 pieces, the last 4 are dropped). Only the configured extension is tried: no .txt/.caption fallback.
     */
    public static List<String> sidecarCandidates(String imagePath, String captionExtension) {
        String base = withoutExtension(imagePath);
        List<String> candidates = new ArrayList<>();
        candidates.add(base + captionExtension);
        List<String> tokens = Py.split(base, "_");
        if (tokens.size() >= 5) {
            String faceBase = String.join("_", tokens.subList(0, tokens.size() - 4));
            String faceCandidate = faceBase + captionExtension;
            if (!faceCandidate.equals(candidates.get(0))) {
                candidates.add(faceCandidate);
            }
        }
        return candidates;
    }

    /** Python os.path.splitext(path)[0]: the last dot of the file name, ignoring leading dots. */
    static String withoutExtension(String path) {
        int slash = path.lastIndexOf('/');
        int nameStart = slash + 1;
        int firstNonDot = nameStart;
        while (firstNonDot < path.length() && path.charAt(firstNonDot) == '.') {
            firstNonDot++;
        }
        int dot = path.lastIndexOf('.');
        return dot >= firstNonDot ? path.substring(0, dot) : path;
    }

    /**
     * The caption stored from a sidecar file's text: the first line, stripped; with {@code enableWildcard} every
     * non-blank line, stripped, joined with "\n". A leading UTF-8 byte-order mark is removed (Kiln). Returns
     * null for a file without any line, which Kiln treats like a missing caption (sd-scripts aborts).
     */
    public static String fromSidecar(String text, boolean enableWildcard) {
        if (text.startsWith("\ufeff")) {
            text = text.substring(1);
        }
        List<String> lines = Py.readLines(text);
        if (lines.isEmpty()) {
            return null;
        }
        if (!enableWildcard) {
            return Py.strip(lines.get(0));
        }
        List<String> kept = new ArrayList<>();
        for (String line : lines) {
            String stripped = Py.strip(line);
            if (!stripped.isEmpty()) {
                kept.add(stripped);
            }
        }
        return String.join("\n", kept);
    }

    /**
     * A fine-tuning image's caption from its metadata entry: without wildcards {@code caption + separator + tags}
     * (the separator only when the caption is not empty, no space added); with wildcards the tags' newlines become
     * separators and every non-blank caption line gets {@code separator + tags}.
     *
     * @param caption the entry's "caption" (null counts as "")
     * @param tags the entry's "tags", or null
     */
    public static String fromMetadata(String caption, String tags, String captionSeparator, boolean enableWildcard) {
        if (caption == null) {
            caption = "";
        }
        if (enableWildcard) {
            if (tags == null) {
                return caption;
            }
            String oneLineTags = tags.replace("\n", captionSeparator);
            List<String> lines = new ArrayList<>();
            for (String line : Py.split(caption, "\n")) {
                if (!Py.strip(line).isEmpty()) {
                    lines.add(line + captionSeparator + oneLineTags);
                }
            }
            return String.join("\n", lines);
        }
        if (tags != null && !tags.isEmpty()) {
            return caption.isEmpty() ? tags : caption + captionSeparator + tags;
        }
        return caption;
    }
}
