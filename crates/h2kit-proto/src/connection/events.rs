//! The queue of events for the driver, and the link from a response head to its whole body.
//!
//! Servers often write the HEADERS of many streams before their DATA (nghttpd does), so a
//! response's one DATA frame is seldom the event right after its head. A driver that wants to
//! hand a small response out complete would have to hold every head until its body turns up.
//! The engine knows better: when the first DATA after a response head ends the stream while
//! that head is still queued, it links the two, and [`Connection::take_whole_body`] hands the
//! body over with the head; the DATA event is then skipped.
//!
//! [`Connection::take_whole_body`]: super::Connection::take_whole_body

use std::collections::VecDeque;

use bytes::Bytes;

use crate::event::Event;
use crate::frame::StreamId;

/// Positions count every event ever queued (wrapping): an event's position minus the count
/// of events taken out is its index in the queue, as long as it is still there.
#[derive(Default)]
pub(super) struct EventQueue {
    /// `None`: an event handed out early (a body taken with its head).
    events: VecDeque<Option<Event>>,
    /// For each queued event, the position of the DATA event that completes its response,
    /// if linked. A second ring rather than a field of `Event`, which is public and, copied
    /// in and out of this queue for every frame, best kept as small as it is.
    links: VecDeque<Option<u32>>,
    /// Events taken out so far.
    popped: u32,
    /// The link of the event handed out last.
    last_link: Option<u32>,
}

impl EventQueue {
    /// Queues `event`; its position.
    pub(super) fn push(&mut self, event: Event) -> u32 {
        let at = self.popped.wrapping_add(self.events.len() as u32);
        self.events.push_back(Some(event));
        self.links.push_back(None);
        at
    }

    pub(super) fn pop(&mut self) -> Option<Event> {
        loop {
            let event = self.events.pop_front()?;
            self.last_link = self.links.pop_front().flatten();
            self.popped = self.popped.wrapping_add(1);
            if self.events.is_empty() {
                // Back to the rings' first slots. A ring that once grew (a read that brought
                // a thousand responses) would otherwise go round all of its slots, each cold
                // by the time it is written again; from slot 0 a turn's events reuse the same
                // warm few.
                self.events.clear();
                self.links.clear();
            }
            if event.is_some() {
                return event;
            }
        }
    }

    /// The index in the queue of the event at position `at`, if it is still queued.
    fn index(&self, at: u32) -> Option<usize> {
        let i = at.wrapping_sub(self.popped) as usize;
        (i < self.events.len()).then_some(i)
    }

    /// The DATA event at position `data` completes the response whose head is at `head`.
    pub(super) fn link(&mut self, head: u32, data: u32) {
        if let Some(i) = self.index(head) {
            self.links[i] = Some(data);
        }
    }

    /// The body of `stream`'s response if the event handed out last was its head and the
    /// DATA completing it is still queued; that DATA event is then skipped.
    pub(super) fn take_linked(&mut self, stream: StreamId) -> Option<Bytes> {
        let link = self.last_link.take()?;
        let i = self.index(link)?;
        match self.events[i].take() {
            Some(Event::Data {
                stream: s,
                data,
                end_stream: true,
            }) if s == stream => Some(data),
            other => {
                // Not the linked DATA (cannot happen: links are made only to it): left as is.
                self.events[i] = other;
                None
            }
        }
    }

    pub(super) fn shrink_to_fit(&mut self) {
        self.events.shrink_to_fit();
        self.links.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(id: u32, end: bool) -> Event {
        Event::Data {
            stream: StreamId(id),
            data: Bytes::from_static(b"body"),
            end_stream: end,
        }
    }

    #[test]
    fn a_linked_body_is_taken_with_its_head_and_skipped_after() {
        let mut q = EventQueue::default();
        let head = q.push(Event::SendCapacity {
            stream: StreamId(1),
        });
        q.push(Event::StreamsAvailable);
        let body = q.push(data(1, true));
        q.push(data(3, true));
        q.link(head, body);
        assert!(matches!(q.pop(), Some(Event::SendCapacity { .. })));
        assert_eq!(q.take_linked(StreamId(1)).as_deref(), Some(&b"body"[..]));
        // Asked twice, or after another event: nothing.
        assert_eq!(q.take_linked(StreamId(1)), None);
        assert!(matches!(q.pop(), Some(Event::StreamsAvailable)));
        assert_eq!(q.take_linked(StreamId(1)), None);
        // The taken DATA is skipped; stream 3's is not.
        assert!(matches!(
            q.pop(),
            Some(Event::Data {
                stream: StreamId(3),
                ..
            })
        ));
        assert!(q.pop().is_none());
    }

    #[test]
    fn no_link_to_a_head_already_handed_out() {
        let mut q = EventQueue::default();
        let head = q.push(Event::SendCapacity {
            stream: StreamId(1),
        });
        assert!(q.pop().is_some());
        let body = q.push(data(1, true));
        q.link(head, body);
        assert!(q.pop().is_some());
        assert_eq!(q.take_linked(StreamId(1)), None);
    }

    #[test]
    fn positions_survive_the_count_wrapping() {
        let mut q = EventQueue {
            popped: u32::MAX - 1,
            ..Default::default()
        };
        let head = q.push(Event::SendCapacity {
            stream: StreamId(5),
        });
        q.push(Event::StreamsAvailable);
        let body = q.push(data(5, true));
        assert_eq!(body, 0);
        q.link(head, body);
        q.pop();
        assert!(q.take_linked(StreamId(5)).is_some());
    }
}
