/*
 * ff_ids.h - the id tables of the 32-bit cell and of the inventory, defined once.
 *
 * Tile ids and entity ids are 4 bits (16 values each) in the cell; item ids index
 * FactorioState.inventory. These X-macro lists are the single definition: the C core expands
 * them, Python reads them through factorio_fast.codec (TILE_NAMES, ENTITY_NAMES, ITEM_NAMES,
 * built from the compiled tables) and the Lua mod's lua/ff_ids.lua is generated from Python
 * (`python -m factorio_fast.ids --lua`) and tested equal.
 *
 * Numbers come from Factorio 2.0 prototypes (see docs/factorio-facts.md §4.1-4.6): walking speed
 * modifiers of tiles, which tiles collide with the character, entity collision boxes.
 */
#ifndef FF_IDS_H
#define FF_IDS_H

#include "ff_common.h"

/* X(id, name, blocks_character, walking_speed_modifier) */
#define FF_TILES(X)                          \
    X(0, "out-of-map", 1, 1.0)               \
    X(1, "grass-1", 0, 1.0)                  \
    X(2, "dirt-1", 0, 1.0)                   \
    X(3, "sand-1", 0, 1.0)                   \
    X(4, "red-desert-0", 0, 1.0)             \
    X(5, "stone-path", 0, 1.3)               \
    X(6, "concrete", 0, 1.4)                 \
    X(7, "refined-concrete", 0, 1.5)         \
    X(8, "landfill", 0, 1.0)                 \
    X(9, "water-shallow", 0, 0.8)            \
    X(10, "water-mud", 0, 0.7)               \
    X(11, "water", 1, 1.0)                   \
    X(12, "deepwater", 1, 1.0)               \
    X(13, "water-green", 1, 1.0)             \
    X(14, "deepwater-green", 1, 1.0)         \
    X(15, "lab-dark-1", 0, 1.0)

/* X(id, name, kind, collision_half_extent_tiles, blocks_character, footprint_tiles)
 * kind: 0 none, 1 resource, 2 building, 3 belt, 4 character, 5 other.
 * Boxes from docs/factorio-facts.md §4.5; resources are tile-centred with a +-0.1 box and do not block;
 * belts do not block (their mask lacks the player layer). */
#define FF_ENTITIES(X)                                   \
    X(0, "", 0, 0.0, 0, 0)                               \
    X(1, "iron-ore", 1, 0.1, 0, 1)                       \
    X(2, "copper-ore", 1, 0.1, 0, 1)                     \
    X(3, "coal", 1, 0.1, 0, 1)                           \
    X(4, "stone", 1, 0.1, 0, 1)                          \
    X(5, "stone-furnace", 2, 0.7, 1, 2)                  \
    X(6, "burner-mining-drill", 2, 0.7, 1, 2)            \
    X(7, "transport-belt", 3, 0.4, 0, 1)                 \
    X(8, "wooden-chest", 2, 0.35, 1, 1)                  \
    X(9, "character", 4, 0.2, 0, 0)

#define FF_ENTITY_KIND_NONE 0
#define FF_ENTITY_KIND_RESOURCE 1
#define FF_ENTITY_KIND_BUILDING 2
#define FF_ENTITY_KIND_BELT 3
#define FF_ENTITY_KIND_CHARACTER 4
#define FF_ENTITY_KIND_OTHER 5

/* X(id, name, stack_size). Index into FactorioState.inventory (64 slots). */
#define FF_ITEMS(X)                            \
    X(0, "", 0)                                \
    X(1, "iron-ore", 50)                       \
    X(2, "copper-ore", 50)                     \
    X(3, "coal", 50)                           \
    X(4, "stone", 50)                          \
    X(5, "iron-plate", 100)                    \
    X(6, "iron-gear-wheel", 100)               \
    X(7, "stone-furnace", 50)                  \
    X(8, "burner-mining-drill", 50)            \
    X(9, "transport-belt", 100)                \
    X(10, "wooden-chest", 50)

#define FF_ID_ENUM_TILE(id, name, blocks, speed) FF_TILE_ID_##id = id,
enum { FF_TILES(FF_ID_ENUM_TILE) FF_NUM_TILES };
#undef FF_ID_ENUM_TILE

#define FF_ID_COUNT(id, ...) +1
enum { FF_NUM_ENTITIES = 0 FF_ENTITIES(FF_ID_COUNT), FF_NUM_ITEMS = 0 FF_ITEMS(FF_ID_COUNT) };
#undef FF_ID_COUNT

/* Named ids used by the simulator. Checked against the tables in ff_ids.c. */
enum {
    FF_TILE_OUT_OF_MAP = 0, FF_TILE_GRASS = 1, FF_TILE_WATER = 11, FF_TILE_DEEPWATER = 12,
    FF_ENT_NONE = 0, FF_ENT_IRON_ORE = 1, FF_ENT_COPPER_ORE = 2, FF_ENT_COAL = 3, FF_ENT_STONE = 4,
    FF_ENT_STONE_FURNACE = 5, FF_ENT_BURNER_DRILL = 6, FF_ENT_BELT = 7, FF_ENT_WOODEN_CHEST = 8,
    FF_ENT_CHARACTER = 9,
    FF_ITEM_NONE = 0, FF_ITEM_IRON_ORE = 1, FF_ITEM_COPPER_ORE = 2, FF_ITEM_COAL = 3,
    FF_ITEM_STONE = 4, FF_ITEM_IRON_PLATE = 5, FF_ITEM_GEAR = 6, FF_ITEM_STONE_FURNACE = 7,
    FF_ITEM_BURNER_DRILL = 8, FF_ITEM_BELT = 9, FF_ITEM_WOODEN_CHEST = 10,
};

FF_STATIC_ASSERT(FF_NUM_TILES == 16, "exactly 16 tile ids fit the 4-bit field");

typedef struct ff_tile_info {
    const char *name;
    uint8_t blocks_character;
    double walking_speed_modifier;
} ff_tile_info_t;

typedef struct ff_entity_info {
    const char *name;
    uint8_t kind;
    double half_extent;      /* half side of the square collision box, tiles */
    uint8_t blocks_character;
    uint8_t footprint;       /* tiles per side occupied on the grid */
} ff_entity_info_t;

typedef struct ff_item_info {
    const char *name;
    uint16_t stack_size;
} ff_item_info_t;

FF_EXTERN_C_BEGIN

/* Static tables indexed by id; sizes FF_NUM_TILES / FF_NUM_ENTITIES / FF_NUM_ITEMS. */
extern const ff_tile_info_t ff_tile_table[];
extern const ff_entity_info_t ff_entity_table[];
extern const ff_item_info_t ff_item_table[];

FF_EXTERN_C_END

#endif /* FF_IDS_H */
