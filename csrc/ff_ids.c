/* ff_ids.c - expands the id tables of ff_ids.h. */
#include "ff_ids.h"

#define FF_TILE_ROW(id, name, blocks, speed) [id] = {name, blocks, speed},
const ff_tile_info_t ff_tile_table[] = {FF_TILES(FF_TILE_ROW)};
#undef FF_TILE_ROW

#define FF_ENTITY_ROW(id, name, kind, half, blocks, fp) [id] = {name, kind, half, blocks, fp},
const ff_entity_info_t ff_entity_table[] = {FF_ENTITIES(FF_ENTITY_ROW)};
#undef FF_ENTITY_ROW

#define FF_ITEM_ROW(id, name, stack) [id] = {name, stack},
const ff_item_info_t ff_item_table[] = {FF_ITEMS(FF_ITEM_ROW)};
#undef FF_ITEM_ROW

FF_STATIC_ASSERT(sizeof ff_tile_table / sizeof ff_tile_table[0] == FF_NUM_TILES, "tile table");
FF_STATIC_ASSERT(sizeof ff_entity_table / sizeof ff_entity_table[0] == FF_NUM_ENTITIES,
                 "entity table");
FF_STATIC_ASSERT(FF_NUM_ENTITIES <= 16, "entity ids must fit the 4-bit field");
FF_STATIC_ASSERT(FF_NUM_ITEMS <= 64, "item ids must index the 64 inventory slots");
