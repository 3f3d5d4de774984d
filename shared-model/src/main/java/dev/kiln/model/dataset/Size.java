package dev.kiln.model.dataset;

/** A width × height pair (sd-scripts' (w, h) tuples); ordered like Python tuples: width, then height. */
public record Size(int width, int height) implements Comparable<Size> {
    @Override
    public int compareTo(Size o) {
        int c = Integer.compare(width, o.width);
        return c != 0 ? c : Integer.compare(height, o.height);
    }

    @Override
    public String toString() {
        return width + "x" + height;
    }
}
