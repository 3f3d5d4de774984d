package dev.kiln.diffusion.train.save;

import dev.kiln.model.dataset.Captions;
import dev.kiln.model.dataset.DatasetSource;
import dev.kiln.model.dataset.ListedImage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Image files (path → size) and text files held in memory, listed as the dataset engine expects. */
final class MemoryDatasetSource implements DatasetSource {
    private final Map<String, int[]> images = new LinkedHashMap<>();
    private final Map<String, String> texts = new LinkedHashMap<>();

    MemoryDatasetSource image(String path, int width, int height) {
        images.put(path, new int[] {width, height});
        return this;
    }

    MemoryDatasetSource text(String path, String text) {
        texts.put(path, text);
        return this;
    }

    @Override
    public List<String> subdirectories(String dir) {
        List<String> out = new ArrayList<>();
        for (String path : images.keySet()) {
            if (path.startsWith(dir + "/")) {
                String rest = path.substring(dir.length() + 1);
                int slash = rest.indexOf('/');
                if (slash > 0 && !out.contains(rest.substring(0, slash))) {
                    out.add(rest.substring(0, slash));
                }
            }
        }
        return out;
    }

    @Override
    public List<ListedImage> images(String imageDir, String captionExtension) {
        List<ListedImage> out = new ArrayList<>();
        images.forEach((path, size) -> {
            if (path.startsWith(imageDir + "/") && path.indexOf('/', imageDir.length() + 1) < 0) {
                String caption = null;
                for (String candidate : Captions.sidecarCandidates(path, captionExtension)) {
                    caption = caption != null ? caption : texts.get(candidate);
                }
                out.add(new ListedImage(path, size[0], size[1], caption));
            }
        });
        return out;
    }

    @Override
    public String text(String path) {
        return texts.get(path);
    }

    @Override
    public int[] imageSize(String path) {
        return images.get(path);
    }
}
