package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** An in-memory {@link DatasetSource}: image files with sizes, and text files (captions, metadata). */
public final class MemorySource implements DatasetSource {
    private final Map<String, int[]> images = new HashMap<>();
    private final Map<String, String> texts = new HashMap<>();

    public MemorySource image(String path, int width, int height) {
        images.put(path, new int[] {width, height});
        return this;
    }

    public MemorySource images(String dir, int count, int width, int height) {
        for (int i = 0; i < count; i++) {
            image(dir + "/" + String.format("img%05d.png", i), width, height);
        }
        return this;
    }

    public MemorySource text(String path, String text) {
        texts.put(path, text);
        return this;
    }

    @Override
    public List<String> subdirectories(String dir) {
        List<String> out = new ArrayList<>();
        String prefix = dir + "/";
        for (String path : images.keySet()) {
            if (path.startsWith(prefix)) {
                String rest = path.substring(prefix.length());
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
        String prefix = imageDir + "/";
        images.forEach((path, size) -> {
            if (path.startsWith(prefix) && path.indexOf('/', prefix.length()) < 0) {
                String caption = null;
                for (String candidate : Captions.sidecarCandidates(path, captionExtension)) {
                    if (texts.containsKey(candidate)) {
                        caption = texts.get(candidate);
                        break;
                    }
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
