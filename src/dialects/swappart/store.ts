import { type RoomListItem, roomsOfUser } from "../../storage/room-index";

/** The D1 reads of the Swappart room API that the shared room index does not answer. */

/** The most rooms `GET /rooms` lists: the seed's list has no paging. */
export const MAX_LISTED_ROOMS = 500;
const PAGE = 100;

/** Every room of the user, most recently active first, up to `MAX_LISTED_ROOMS`. */
export async function allRoomsOf(db: D1Database, userId: string): Promise<RoomListItem[]> {
  const rooms: RoomListItem[] = [];
  let page = await roomsOfUser(db, userId, PAGE, null);
  rooms.push(...page.items);
  while (page.next && rooms.length < MAX_LISTED_ROOMS) {
    page = await roomsOfUser(db, userId, PAGE, page.next);
    rooms.push(...page.items);
  }
  return rooms.slice(0, MAX_LISTED_ROOMS);
}

/** The members of each room, by room number, in the order they joined. */
export async function participantsOf(db: D1Database, roomNumbers: number[]): Promise<Map<number, string[]>> {
  const participants = new Map<number, string[]>(roomNumbers.map((n) => [n, []]));
  if (roomNumbers.length === 0) return participants;
  const { results } = await db
    .prepare(
      `SELECT room_id, user_id FROM memberships
       WHERE room_id IN (SELECT value FROM json_each(?)) ORDER BY room_id, joined_at, user_id`,
    )
    .bind(JSON.stringify(roomNumbers))
    .all<{ room_id: number; user_id: string }>();
  for (const row of results) participants.get(row.room_id)?.push(row.user_id);
  return participants;
}
