package dev.shmheap.cli;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class JsonWriterTest {
    @Test
    void shouldWriteNestedDocumentsThatParseBack() {
        String text = new JsonWriter().beginObject()
                .field("name", "quote \" backslash \\ newline \n tab \t bell \u0007 é")
                .field("count", -42L)
                .field("ratio", 0.25)
                .field("ok", true)
                .name("rows").beginArray()
                .beginInlineObject().field("a", 1L).field("b", 2L).endObject()
                .beginInlineObject().endObject()
                .endArray()
                .name("empty").beginArray().endArray()
                .endObject().toString();
        Map<String, Object> json = Json.object(Json.parse(text));
        assertEquals("quote \" backslash \\ newline \n tab \t bell \u0007 é", json.get("name"));
        assertEquals(-42L, json.get("count"));
        assertEquals(0.25, json.get("ratio"));
        assertEquals(true, json.get("ok"));
        assertEquals(List.of(Map.of("a", 1L, "b", 2L), Map.of()), json.get("rows"));
        assertEquals(List.of(), json.get("empty"));
        assertEquals("{ \"a\": 1, \"b\": 2 }", text.lines().filter(l -> l.contains("\"a\"")).findFirst().orElseThrow().trim().replace("},", "}"));
    }

    @Test
    void shouldRefuseToWriteMalformedJson() {
        assertThrows(IllegalStateException.class, () -> new JsonWriter().beginObject().value(1L));
        assertThrows(IllegalStateException.class, () -> new JsonWriter().beginArray().name("x"));
        assertThrows(IllegalStateException.class, () -> new JsonWriter().beginObject().endArray());
        assertThrows(IllegalStateException.class, () -> new JsonWriter().beginObject().toString());
        assertThrows(IllegalArgumentException.class, () -> new JsonWriter().value(Double.NaN));
        assertThrows(IllegalStateException.class, () -> new JsonWriter().value(1L).value(2L));
    }
}
