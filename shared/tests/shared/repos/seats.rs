//! Seats: at most `capacity` per agent, one per chatroom, however many take at once; released
//! one chatroom at a time; scoped to their tenant.

use futures::future::join_all;
use shared::domain::{ChatroomId, Timestamp, UserId};

use super::{Backend, tenant};

contract!(
    an_agent_has_at_most_capacity_seats_and_one_per_chatroom,
    many_takes_at_once_never_pass_the_capacity,
    two_takes_for_one_chatroom_at_once_leave_one_seat,
);

async fn an_agent_has_at_most_capacity_seats_and_one_per_chatroom(b: Backend) {
    let (a, other) = (tenant(&b.repos, "A").await, tenant(&b.repos, "B").await);
    let (seats, ada, now) = (&b.repos.seats, UserId::new(), Timestamp::now());
    let rooms: Vec<ChatroomId> = (0..3).map(|_| ChatroomId::new()).collect();
    assert!(seats.take(&a.id, &ada, &rooms[0], 2, now).await.unwrap());
    assert!(seats.take(&a.id, &ada, &rooms[0], 2, now).await.unwrap(), "the same chatroom again: the seat it has");
    assert!(seats.take(&a.id, &ada, &rooms[1], 2, now).await.unwrap());
    assert!(!seats.take(&a.id, &ada, &rooms[2], 2, now).await.unwrap(), "both seats are taken");
    assert_eq!(seats.list(&a.id).await.unwrap().len(), 2);
    assert!(seats.list(&other.id).await.unwrap().is_empty(), "another tenant sees none");

    seats.release(&a.id, &ada, &rooms[0]).await.unwrap();
    seats.release(&a.id, &ada, &rooms[0]).await.unwrap();
    assert!(seats.take(&a.id, &ada, &rooms[2], 2, now).await.unwrap(), "a released seat is free again");
    let held: Vec<ChatroomId> = seats.list(&a.id).await.unwrap().iter().map(|s| s.chatroom_id).collect();
    assert_eq!(held.len(), 2);
    assert!(held.contains(&rooms[1]) && held.contains(&rooms[2]));
}

async fn many_takes_at_once_never_pass_the_capacity(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let (ada, now) = (UserId::new(), Timestamp::now());
    let takes = (0..12).map(|_| {
        let seats = b.repos.seats.clone();
        async move { seats.take(&a.id, &ada, &ChatroomId::new(), 3, now).await.unwrap() }
    });
    let taken = join_all(takes).await.into_iter().filter(|taken| *taken).count();
    assert_eq!(taken, 3);
    assert_eq!(b.repos.seats.list(&a.id).await.unwrap().len(), 3);
}

async fn two_takes_for_one_chatroom_at_once_leave_one_seat(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let (ada, now) = (UserId::new(), Timestamp::now());
    for _ in 0..5 {
        let room = ChatroomId::new();
        let takes = (0..2).map(|_| {
            let seats = b.repos.seats.clone();
            async move { seats.take(&a.id, &ada, &room, 3, now).await.unwrap() }
        });
        assert!(join_all(takes).await.into_iter().all(|taken| taken));
        let seats = b.repos.seats.list(&a.id).await.unwrap();
        assert_eq!(seats.iter().filter(|s| s.chatroom_id == room).count(), 1, "{seats:?}");
        b.repos.seats.release(&a.id, &ada, &room).await.unwrap();
    }
}
