package dev.kiln.model.dataset;

import java.util.List;

/**
 * What the dataset engine needs from storage; the CLI implements it over local files, ingestion over its
 * object index, the trainer over its plan. The engine itself does no I/O.
 */
public interface DatasetSource {
    /** Names of the folders directly below {@code dir} (legacy {@code <N>_<class>} folders); empty if none. */
    List<String> subdirectories(String dir);

    /**
     * The image files directly in {@code imageDir} (not recursive; see {@link ImageFiles#isImage}), each with its
     * size and the text of its sidecar caption file for {@code captionExtension}. Order does not matter.
     */
    List<ListedImage> images(String imageDir, String captionExtension);

    /** The text of a file (a fine-tuning metadata file), or null when it does not exist. */
    String text(String path);

    /** {width, height} of an image, or null when it cannot be read (fine-tuning entries without image_size). */
    int[] imageSize(String path);
}
